// Package webhooks delivers an organization's events to the HTTP endpoints
// it registered (ent WebhookEndpoint), signed per Standard Webhooks
// (https://www.standardwebhooks.com/).
//
// An event writes, in the transaction of the change it reports, one
// WebhookDelivery row (attempt 1, PENDING) and one outbox message
// (engine.Enqueue) per enabled endpoint that subscribed to its type. The
// engine delivers the message to Handler after the commit, through its own
// durable machinery (River jobs on PostgreSQL, the pool's outbox loop on
// SQLite), and retries it with exponential backoff. Every attempt is a
// WebhookDelivery row with its status, response code and error; all the
// attempts of a message share its webhook-id. When a message fails for
// good DisableAfter times in a row, the endpoint is disabled, with the
// reason, and the organization's admins get a Notification.
//
// The events, and who writes them:
//
//   - RUN_FINISHED and STEP_FAILED: the engine, through Config.OnEvents
//     (OnRunEvents), in the transaction of the run's change.
//   - TASK_CREATED: every writer of CRM tasks (modules/crm: follow-ups,
//     transaction checklists) calls TasksCreated with the tasks it inserted
//     in that transaction, one event per task.
//   - EMAIL_UNSUBSCRIBED: marketing.Unsubscribe calls Unsubscribed in the
//     unsubscribe's transaction, once per client who turns email off.
//
// SSRF: an endpoint's URL must be http or https with a host and no user
// information; the delivery client refuses to connect to link-local
// addresses (169.254.0.0/16, fe80::/10, where cloud metadata services
// live), follows no redirects, and reads at most 64 KiB of an answer.
// Loopback and private addresses are allowed, for receivers on the same
// network.
//
// Files by concern:
//
//   - sign.go: secrets and signatures (whsec_, v1,<base64 HMAC-SHA256>).
//   - endpoint.go: validating an endpoint's URL and event types.
//   - events.go: the events, and writing their deliveries.
//   - handler.go: sending an attempt and recording its outcome (the
//     engine's OutboxHandler for Topic).
package webhooks
