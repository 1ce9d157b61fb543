package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"entgo.io/ent/privacy"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/httpserver"
	"github.com/estateflow/estateflow/tenant"
)

// Error codes, the same as the GraphQL API's extensions.code.
const (
	CodeBadUserInput    = "BAD_USER_INPUT"
	CodeNotFound        = "NOT_FOUND"
	CodeConflict        = "CONFLICT"
	CodeUnauthenticated = "UNAUTHENTICATED"
	CodeForbidden       = "FORBIDDEN"
	CodeRateLimited     = "RATE_LIMITED"
	CodeInternal        = "INTERNAL"
)

// statusOf is the HTTP status of each code.
var statusOf = map[string]int{
	CodeBadUserInput:    http.StatusBadRequest,
	CodeNotFound:        http.StatusNotFound,
	CodeConflict:        http.StatusConflict,
	CodeUnauthenticated: http.StatusUnauthorized,
	CodeForbidden:       http.StatusForbidden,
	CodeRateLimited:     http.StatusTooManyRequests,
	CodeInternal:        http.StatusInternalServerError,
}

// apiError is a refusal whose message is safe to show to the client.
type apiError struct {
	status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func newError(code, field, format string, args ...any) *apiError {
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	return &apiError{status: status, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

func badInput(field, format string, args ...any) *apiError {
	return newError(CodeBadUserInput, field, format, args...)
}

// errorBody is the JSON of every error response.
type errorBody struct {
	Error *apiError `json:"error"`
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="estateflow"`)
	}
	writeJSON(w, e.status, errorBody{Error: e})
}

// writeError answers with err: refusals as they are, anything else logged
// with the request ID and shown only as INTERNAL.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	writeAPIError(w, h.present(r.Context(), err))
}

// present maps an error to what the client sees, the way the GraphQL error
// presenter (graph/errors.go) does: engine refusals keep their code and
// field, ent and database refusals become BAD_USER_INPUT, NOT_FOUND or
// CONFLICT, and nothing else (SQL, driver messages, stack traces) leaves the
// server.
func (h *Handler) present(ctx context.Context, err error) *apiError {
	var (
		apiErr     *apiError
		engineErr  *engine.Error
		validation *ent.ValidationError
		badText    *database.InvalidTextError
		notFound   *ent.NotFoundError
		constraint *ent.ConstraintError
		foreignRef *tenant.ForeignReferenceError
	)
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.As(err, &engineErr):
		return newError(engineErr.Code, inputField(engineErr.Field), "%s", engineErr.Message)
	case errors.As(err, &validation):
		field := camelCase(validation.Name)
		return badInput(field, "invalid %s: %s", field, validationReason(validation))
	case errors.As(err, &badText):
		field := camelCase(badText.Field)
		return badInput(field, "invalid %s: text must not contain NUL characters", field)
	case errors.As(err, &notFound):
		return newError(CodeNotFound, "", "not found")
	case errors.As(err, &constraint):
		return presentConstraint(constraint)
	case errors.Is(err, tenant.ErrNoViewer):
		return newError(CodeUnauthenticated, "", "authentication required: send Authorization: Bearer <token>")
	case errors.As(err, &foreignRef):
		// Exactly what an unknown ID gets: another organization's IDs must
		// not be told apart from IDs that do not exist.
		return newError(CodeNotFound, camelCase(foreignRef.Edge)+"Id", "%s", foreignRef.Error())
	case errors.Is(err, tenant.ErrAdminOnly):
		return newError(CodeForbidden, "", "%s", tenant.ErrAdminOnly.Error())
	case errors.Is(err, privacy.Deny):
		h.log.WarnContext(ctx, "rest: privacy denial", "request_id", httpserver.RequestIDFromContext(ctx), "err", err)
		return newError(CodeForbidden, "", "not allowed")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		h.log.WarnContext(ctx, "rest: request canceled", "request_id", httpserver.RequestIDFromContext(ctx), "err", err)
		return newError(CodeInternal, "", "request canceled or timed out")
	}
	id := httpserver.RequestIDFromContext(ctx)
	h.log.ErrorContext(ctx, "rest: internal error", "request_id", id, "err", err)
	if id == "" {
		return newError(CodeInternal, "", "internal error")
	}
	return newError(CodeInternal, "", "internal error (request %s)", id)
}

// inputField turns the engine's GraphQL field path ("input.packageId") into
// the name of the REST body's field ("packageId").
func inputField(field string) string {
	return strings.TrimPrefix(field, "input.")
}

func presentConstraint(err *ent.ConstraintError) *apiError {
	msg := strings.ToLower(err.Error())
	field := ""
	for _, c := range []struct{ column, field string }{
		{"idempotency_key", "idempotencyKey"},
		{"property_id", "propertyId"},
		{"client_id", "clientId"},
		{"package_id", "packageId"},
	} {
		if strings.Contains(msg, c.column) {
			field = c.field
			break
		}
	}
	switch {
	case strings.Contains(msg, "unique") || strings.Contains(msg, "duplicate"):
		if field != "" {
			return newError(CodeConflict, field, "%s already exists", field)
		}
		return newError(CodeConflict, "", "already exists")
	case strings.Contains(msg, "foreign key"):
		return newError(CodeConflict, field, "the record is referenced by other records, or refers to one that does not exist")
	default:
		return badInput(field, "the change breaks a data constraint")
	}
}

// validationReason drops ent's prefix, which names the Go schema type, in
// favour of the reason.
func validationReason(e *ent.ValidationError) string {
	if inner := errors.Unwrap(e); inner != nil {
		msg := inner.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "ent:") {
			return msg[i+2:]
		}
		return msg
	}
	return "invalid value"
}

func camelCase(snake string) string {
	parts := strings.Split(snake, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// writeJSON writes v with the status. The response is built first, so that
// an encoding failure cannot leave a half-written body behind a 2xx status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false) // an API, not a page: "<token>" stays readable
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		body.Reset()
		_ = enc.Encode(errorBody{Error: newError(CodeInternal, "", "internal error: the response could not be encoded")})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body.Bytes())
}
