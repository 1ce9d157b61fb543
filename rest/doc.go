// Package rest serves the legacy REST endpoints that older clients call to
// start and follow package runs:
//
//	POST /api/v1/orchestration/runs       start a run (201; 200 for a repeated idempotency key)
//	GET  /api/v1/orchestration/runs       the organization's runs, newest first, cursor-paginated
//	GET  /api/v1/orchestration/runs/{id}  one run with its step runs
//
// It is a thin layer over the same engine and ent client as the GraphQL API:
// StartRun is the engine call the startRun mutation makes, IDs are the same
// global IDs (sent as strings), and every query is scoped to the viewer's
// organization by the tenant-scoped client, so another organization's run
// answers exactly like an unknown one.
//
// The handler expects the middleware chain of /graphql in front of it (CORS,
// BodyLimit, the authenticator, the rate limit), with TranslateErrors
// wrapping the shared ones so that their refusals reach REST clients in this
// package's error shape:
//
//	{"error": {"code": "BAD_USER_INPUT", "message": "…", "field": "packageId"}}
//
// The codes are those of the GraphQL API, each with its HTTP status:
// BAD_USER_INPUT 400 (413 for a body over the limit), UNAUTHENTICATED 401,
// FORBIDDEN 403, NOT_FOUND 404, CONFLICT 409, RATE_LIMITED 429 and INTERNAL
// 500. Internal errors are logged with the request ID and shown only as
// INTERNAL.
package rest
