package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/estateflow/estateflow/internal/clienterr"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/internal/requestid"
)

// apiError is a refusal whose message is safe to show to the client.
type apiError struct {
	status  int
	Code    errcode.Code `json:"code"`
	Message string       `json:"message"`
	Field   string       `json:"field,omitempty"`
	// RetryAfter, in seconds, is also sent as the Retry-After header.
	RetryAfter int `json:"retryAfter,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

// newError is a refusal with the status its code calls for. (The few
// responses whose status differs, a body over the limit and a wrong method,
// set theirs where they are made.)
func newError(code errcode.Code, field, format string, args ...any) *apiError {
	return &apiError{status: code.HTTPStatus(), Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

func badInput(field, format string, args ...any) *apiError {
	return newError(errcode.BadUserInput, field, format, args...)
}

// errorBody is the JSON of every error response.
type errorBody struct {
	Error *apiError `json:"error"`
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="estateflow"`)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, e.status, errorBody{Error: e})
}

// writeError answers with err: refusals as they are, anything else logged
// and shown only as INTERNAL, with the request ID.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	writeAPIError(w, h.present(r.Context(), err))
}

// present maps an error to what the client sees, through the same
// classification as the GraphQL API (internal/clienterr); anything else is
// logged (the logger adds the request ID from ctx) and shown only as
// INTERNAL with that ID.
func (h *Handler) present(ctx context.Context, err error) *apiError {
	var apiErr *apiError
	if errors.As(err, &apiErr) {
		return apiErr
	}
	if ref, ok := clienterr.Classify(err); ok {
		if ref.Suspicious || ref.Code == errcode.Internal {
			h.log.WarnContext(ctx, "rest: request refused", "code", ref.Code, "err", err)
		}
		e := newError(ref.Code, strings.TrimPrefix(ref.Field, "input."), "%s", ref.Message)
		if ref.RetryAfter > 0 {
			e.RetryAfter = clienterr.RetryAfterSeconds(ref.RetryAfter)
		}
		return e
	}
	h.log.ErrorContext(ctx, "rest: internal error", "err", err)
	id, ok := requestid.FromContext(ctx)
	if !ok {
		return newError(errcode.Internal, "", "internal error")
	}
	return newError(errcode.Internal, "", "internal error (request %s)", id)
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
		_ = enc.Encode(errorBody{Error: newError(errcode.Internal, "", "internal error: the response could not be encoded")})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body.Bytes())
}
