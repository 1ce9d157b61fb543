package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sync"

	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/modules"
	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/modules/crm"
	"github.com/estateflow/estateflow/modules/spec"
	"github.com/estateflow/estateflow/report"
)

// runPage is GET /runs's body.
type runPage struct {
	Runs       []runJSON `json:"runs"`
	NextCursor *string   `json:"nextCursor"`
}

// OpenAPI returns the REST API's OpenAPI 3.1 document. Its schemas are
// derived from the very types the handlers decode (startBody) and encode
// (runJSON, runPage, errorBody, report.Report), so it cannot drift from
// them; the paths, parameters and statuses are written here, next to the
// constants the handlers route and validate with, and the REST tests check
// every response against the document.
func OpenAPI() ([]byte, error) { return openAPIOnce() }

var openAPIOnce = sync.OnceValues(buildOpenAPI)

// OpenAPIHandler serves the document, to anyone: it describes the API, it
// holds no data.
func OpenAPIHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, err := OpenAPI()
		if err != nil {
			writeAPIError(w, newError(errcode.Internal, "", "internal error: the OpenAPI document could not be built"))
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(doc)
	})
}

func buildOpenAPI() ([]byte, error) {
	g := newSchemaGen()
	g.names[reflect.TypeFor[runJSON]()] = "Run"
	g.names[reflect.TypeFor[stepJSON]()] = "StepRun"
	g.names[reflect.TypeFor[runPage]()] = "RunPage"
	g.names[reflect.TypeFor[errorBody]()] = "ErrorResponse"
	g.names[reflect.TypeFor[apiError]()] = "Error"
	g.names[reflect.TypeFor[startBody]()] = "StartRunRequest"
	g.names[reflect.TypeFor[report.Report]()] = "RunReport"
	g.names[reflect.TypeFor[report.Run]()] = "ReportRun"
	g.names[reflect.TypeFor[report.Step]()] = "ReportStep"
	g.names[reflect.TypeFor[report.Package]()] = "ReportPackage"
	g.names[reflect.TypeFor[report.Property]()] = "ReportProperty"
	g.names[reflect.TypeFor[report.Client]()] = "ReportClient"
	g.names[reflect.TypeFor[report.Effects]()] = "ReportEffects"
	g.names[reflect.TypeFor[report.LeadScore]()] = "LeadScoreRecord"
	g.names[reflect.TypeFor[analytics.Report]()] = "CMAReport" // as in the GraphQL schema
	g.names[reflect.TypeFor[crm.LeadScore]()] = "LeadScore"

	// An error's code is one of errcode's.
	g.custom[reflect.TypeFor[errcode.Code]()] = func(*schemaGen) schemaObj {
		return schemaObj{"type": "string", "enum": errorCodes()}
	}
	// A step's output is its kind's type, as the module registry declares.
	g.custom[reflect.TypeFor[spec.StepOutput]()] = func(g *schemaGen) schemaObj {
		variants := []any{}
		for _, m := range modules.All() {
			for _, k := range m.Kinds {
				if k.NewOutput != nil {
					variants = append(variants, g.of(reflect.TypeOf(k.NewOutput()).Elem()))
				}
			}
		}
		return schemaObj{"anyOf": append(variants, schemaObj{"type": "null"})}
	}
	// IDs the start request reads as strings or numbers (parseID).
	idInput := schemaObj{"anyOf": []any{
		schemaObj{"type": "string", "pattern": "^[0-9]+$"}, schemaObj{"type": "integer", "minimum": 1}, schemaObj{"type": "null"},
	}}
	g.custom[reflect.TypeFor[json.RawMessage]()] = func(*schemaGen) schemaObj { return schemaObj{} }

	runSchema := g.of(reflect.TypeFor[runJSON]())
	pageSchema := g.of(reflect.TypeFor[runPage]())
	reportSchema := g.of(reflect.TypeFor[report.Report]())
	errSchema := g.of(reflect.TypeFor[errorBody]())
	startSchema := g.of(reflect.TypeFor[startBody]())
	// The raw ID fields of startBody are IDs; packageId is required.
	if def := g.defs["StartRunRequest"]; def != nil {
		props := def["properties"].(schemaObj)
		for _, f := range []string{"packageId", "propertyId", "clientId"} {
			props[f] = idInput
		}
		def["required"] = []string{"packageId"}
	}
	// A run listed has no steps; a single run has them (runJSON.Steps is
	// omitempty and so not required): say so for single runs.
	singleRun := schemaObj{"allOf": []any{runSchema, schemaObj{"required": []string{"steps"}}}}
	if g.err != nil {
		return nil, g.err
	}

	jsonContent := func(s schemaObj) schemaObj {
		return schemaObj{"application/json": schemaObj{"schema": s}}
	}
	errResponse := func(desc string) schemaObj {
		return schemaObj{"description": desc, "content": jsonContent(errSchema)}
	}
	// Every endpoint reads the database (the token's lookup first), so
	// every one can answer 503 during an outage or a shutdown.
	errors := func(statuses ...int) schemaObj {
		out := schemaObj{}
		for _, s := range append(statuses, 503) {
			out[fmt.Sprint(s)] = errResponse(errorDescriptions[s])
		}
		return out
	}
	with := func(base schemaObj, more schemaObj) schemaObj {
		for k, v := range more {
			base[k] = v
		}
		return base
	}
	idParam := schemaObj{"name": "id", "in": "path", "required": true, "description": "The run's ID, as the API returns it.",
		"schema": schemaObj{"type": "string", "pattern": "^[0-9]+$"}}
	statuses := statusList()
	formats := append([]string(nil), reportFormats...)

	paths := schemaObj{
		runsPath: schemaObj{
			"get": schemaObj{
				"operationId": "listRuns",
				"summary":     "The organization's runs, newest first, a page at a time",
				"parameters": []any{
					schemaObj{"name": "limit", "in": "query", "schema": schemaObj{"type": "integer", "minimum": 1, "maximum": maxLimit, "default": defaultLimit}},
					schemaObj{"name": "cursor", "in": "query", "description": "nextCursor of the page before, as it came.", "schema": schemaObj{"type": "string"}},
					schemaObj{"name": "status", "in": "query", "description": "Only runs in these statuses: repeated, or comma-separated.",
						"schema": schemaObj{"type": "array", "items": schemaObj{"type": "string", "enum": statuses}}, "style": "form", "explode": true},
				},
				"responses": with(schemaObj{"200": schemaObj{"description": "A page of runs, without their steps.", "content": jsonContent(pageSchema)}},
					errors(400, 401, 429, 500)),
			},
			"post": schemaObj{
				"operationId": "startRun",
				"summary":     "Start a run of a package (the startRun mutation)",
				"parameters": []any{schemaObj{"name": IdempotencyKeyHeader, "in": "header",
					"description": "The idempotency key, instead of (or equal to) the body's idempotencyKey.", "schema": schemaObj{"type": "string"}}},
				"requestBody": schemaObj{"required": true, "content": jsonContent(startSchema)},
				"responses": with(schemaObj{
					"201": schemaObj{"description": "The run started.", "content": jsonContent(singleRun),
						"headers": schemaObj{"Location": schemaObj{"description": "The run's URL.", "schema": schemaObj{"type": "string"}}}},
					"200": schemaObj{"description": "The run an earlier start with the same idempotency key started.", "content": jsonContent(singleRun)},
				}, errors(400, 401, 403, 404, 409, 413, 429, 500)),
			},
		},
		runPath: schemaObj{
			"get": schemaObj{
				"operationId": "getRun",
				"summary":     "One run with its steps",
				"parameters":  []any{idParam},
				"responses": with(schemaObj{"200": schemaObj{"description": "The run.", "content": jsonContent(singleRun)}},
					errors(400, 401, 404, 429, 500)),
			},
		},
		reportPath: schemaObj{
			"get": schemaObj{
				"operationId": "getRunReport",
				"summary":     "The run's report, as JSON, CSV, Markdown or HTML",
				"description": "json is the whole run: steps with their typed outputs, and the posts, emails, tasks and lead scores it wrote. " +
					"csv is one row per step, or with table=comps the CMA's comparable sales with each feature's adjustment " +
					"(NOT_FOUND on table when the run has no succeeded CMA step). md reads well in a CRM note. " +
					"html is the seller-facing CMA and listing plan: self-contained and printable.",
				"parameters": []any{
					idParam,
					schemaObj{"name": "format", "in": "query", "schema": schemaObj{"type": "string", "enum": formats, "default": formatJSON}},
					schemaObj{"name": "table", "in": "query", "description": "With format=csv only: steps (the default) or comps.",
						"schema": schemaObj{"type": "string", "enum": []string{tableSteps, tableComps}}},
				},
				"responses": with(schemaObj{"200": schemaObj{
					"description": "The report, in the media type of its format.",
					"content": schemaObj{
						"application/json": schemaObj{"schema": reportSchema},
						"text/csv":         schemaObj{"schema": schemaObj{"type": "string"}},
						"text/markdown":    schemaObj{"schema": schemaObj{"type": "string"}},
						"text/html":        schemaObj{"schema": schemaObj{"type": "string"}},
					},
				}}, errors(400, 401, 404, 429, 500)),
			},
		},
		OpenAPIPath: schemaObj{
			"get": schemaObj{
				"operationId": "getOpenAPI",
				"summary":     "This document",
				"security":    []any{},
				"responses": schemaObj{"200": schemaObj{"description": "The OpenAPI 3.1 document.",
					"content": jsonContent(schemaObj{"type": "object"})}},
			},
		},
	}
	doc := schemaObj{
		"openapi":           "3.1.0",
		"jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
		"info": schemaObj{
			"title":   "EstateFlow REST API",
			"version": "1.0.0",
			"description": "Start and follow package runs and download their reports. Every error is " +
				"{\"error\": {\"code\", \"message\", \"field\"}} with the codes of the GraphQL API. IDs are strings of digits, " +
				"the same global IDs as GraphQL's.",
		},
		"servers":  []any{schemaObj{"url": "/"}},
		"security": []any{schemaObj{"bearer": []string{}}},
		"paths":    paths,
		"components": schemaObj{
			"schemas": g.defs,
			"securitySchemes": schemaObj{"bearer": schemaObj{"type": "http", "scheme": "bearer",
				"description": "An API token: Authorization: Bearer <token>."}},
		},
	}
	return json.MarshalIndent(doc, "", "  ")
}

var errorDescriptions = map[int]string{
	400: "BAD_USER_INPUT: the request is malformed; field names the parameter or body field at fault.",
	401: "UNAUTHENTICATED: no valid token.",
	403: "FORBIDDEN: the token's role may not do this.",
	404: "NOT_FOUND: no such run (or one of another organization), or a referenced record does not exist.",
	409: "CONFLICT: the idempotency key was used for a different request.",
	413: "BAD_USER_INPUT: the body is over the size limit.",
	429: "RATE_LIMITED: over the token's request budget, or (POST /runs) the server is at capacity (admission control); see Retry-After and retryAfter.",
	500: "INTERNAL: an internal error, with the request ID to quote.",
	503: "UNAVAILABLE: the database is unavailable (or SHUTTING_DOWN: the server is stopping); retry after Retry-After.",
}

// errorCodes are the codes a REST error may carry.
func errorCodes() []string {
	codes := []errcode.Code{
		errcode.BadUserInput, errcode.NotFound, errcode.Conflict, errcode.Unauthenticated, errcode.Forbidden,
		errcode.RateLimited, errcode.Unavailable, errcode.ShuttingDown, errcode.Internal,
	}
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = c.String()
	}
	return out
}
