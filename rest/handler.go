package rest

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/internal/requestid"
	"github.com/estateflow/estateflow/report"
	"github.com/estateflow/estateflow/tenant"
)

// Prefix is the path the handler serves under; mount it there.
const Prefix = "/api/v1/"

// The endpoints' paths, as ServeMux patterns (and, with {id}, as OpenAPI
// path templates).
const (
	runsPath   = Prefix + "orchestration/runs"
	runPath    = Prefix + "orchestration/runs/{id}"
	reportPath = Prefix + "runs/{id}/report" // report.HTMLURL builds its URLs
	// OpenAPIPath serves the OpenAPI document; it needs no token, so mount
	// OpenAPIHandler there apart from the authenticated handler.
	OpenAPIPath = Prefix + "openapi.json"
)

// Handler serves the REST endpoints. Requests must reach it through the
// authenticator, which puts the viewer in their context.
type Handler struct {
	client *ent.Client
	engine *engine.Engine
	log    *slog.Logger
	mux    *http.ServeMux
	html   *report.HTMLRenderer
	now    func() time.Time
}

// NewHandler returns the REST endpoints over the tenant-scoped client and
// the engine that the GraphQL API uses.
func NewHandler(client *ent.Client, eng *engine.Engine, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.Default()
	}
	h := &Handler{client: client, engine: eng, log: logger, mux: http.NewServeMux(), html: report.MustNewHTMLRenderer(), now: time.Now}
	// Patterns without methods: a wrong method gets this package's 405,
	// with a JSON body, rather than the mux's plain-text one.
	h.mux.Handle(runsPath, methods{http.MethodGet: h.listRuns, http.MethodPost: h.startRun})
	h.mux.Handle(runPath, methods{http.MethodGet: h.getRun})
	h.mux.Handle(reportPath, methods{http.MethodGet: h.getReport})
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, newError(errcode.NotFound, "", "no endpoint at %s", r.URL.Path))
	})
	return h
}

// ServeHTTP refuses requests without a viewer (the authenticator lets a
// websocket upgrade without a token through, for GraphQL to authenticate
// later), then routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			ctx := r.Context()
			h.log.ErrorContext(ctx, "rest: panic", "panic", v, "stack", string(debug.Stack()))
			id, _ := requestid.FromContext(ctx)
			writeAPIError(w, newError(errcode.Internal, "", "internal error (request %s)", id))
		}
	}()
	if _, ok := tenant.FromContext(r.Context()); !ok {
		writeAPIError(w, newError(errcode.Unauthenticated, "", "authentication required: send Authorization: Bearer <token>"))
		return
	}
	h.mux.ServeHTTP(w, r)
}

// methods routes one path by method; others get 405 with Allow.
type methods map[string]http.HandlerFunc

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f, ok := m[r.Method]; ok {
		f(w, r)
		return
	}
	allowed := make([]string, 0, len(m))
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		if _, ok := m[method]; ok {
			allowed = append(allowed, method)
		}
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: &apiError{
		Code:    errcode.BadUserInput,
		Message: "method " + r.Method + " is not allowed here; use " + strings.Join(allowed, " or "),
	}})
}
