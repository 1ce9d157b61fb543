package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/estateflow/estateflow/httpserver"
	"github.com/estateflow/estateflow/internal/clienterr"
)

// Error codes, the same as the GraphQL API's extensions.code.
const (
	CodeBadUserInput    = clienterr.CodeBadUserInput
	CodeNotFound        = clienterr.CodeNotFound
	CodeConflict        = clienterr.CodeConflict
	CodeUnauthenticated = clienterr.CodeUnauthenticated
	CodeForbidden       = clienterr.CodeForbidden
	CodeRateLimited     = "RATE_LIMITED"
	CodeInternal        = clienterr.CodeInternal
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

// present maps an error to what the client sees, through the same
// classification as the GraphQL API (internal/clienterr); anything else is
// logged with the request ID and shown only as INTERNAL.
func (h *Handler) present(ctx context.Context, err error) *apiError {
	var apiErr *apiError
	if errors.As(err, &apiErr) {
		return apiErr
	}
	id := httpserver.RequestIDFromContext(ctx)
	if ref, ok := clienterr.Classify(err); ok {
		if ref.Suspicious || ref.Code == CodeInternal {
			h.log.WarnContext(ctx, "rest: request refused", "request_id", id, "code", ref.Code, "err", err)
		}
		return newError(ref.Code, strings.TrimPrefix(ref.Field, "input."), "%s", ref.Message)
	}
	h.log.ErrorContext(ctx, "rest: internal error", "request_id", id, "err", err)
	if id == "" {
		return newError(CodeInternal, "", "internal error")
	}
	return newError(CodeInternal, "", "internal error (request %s)", id)
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
