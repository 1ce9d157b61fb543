package rest

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"

	"github.com/estateflow/estateflow/internal/errcode"
)

// DefaultMaxBodyBytes is the body limit BodyLimit applies when given none.
const DefaultMaxBodyBytes = 1 << 20

// BodyLimit caps a request body at maxBytes (DefaultMaxBodyBytes when not
// positive). Unlike httpserver.GraphQLBody it reads nothing ahead: the
// handler reads the body, after authentication, and answers a body over the
// limit with 413 BAD_USER_INPUT.
func BodyLimit(maxBytes int64) func(http.Handler) http.Handler {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBodyBytes
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// TranslateErrors rewrites the error responses of the middleware shared
// with /graphql (the authenticator, the rate limit), which carry GraphQL's
// shape,
//
//	{"errors": [{"message": "…", "extensions": {"code": "UNAUTHENTICATED"}}]}
//
// into this package's,
//
//	{"error": {"code": "UNAUTHENTICATED", "message": "…"}}
//
// keeping their status and headers (WWW-Authenticate, Retry-After). Every
// other response passes through untouched. Put it outside those middleware.
func TranslateErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &translatingWriter{ResponseWriter: w}
		next.ServeHTTP(tw, r)
		tw.finish()
	})
}

// translatingWriter holds back a JSON error response (status 400 or more)
// until the handler returns, to rewrite it if it is GraphQL-shaped. Error
// bodies are small; successful responses are never held.
type translatingWriter struct {
	http.ResponseWriter
	wroteHeader bool
	holding     bool
	status      int
	held        bytes.Buffer
}

func (w *translatingWriter) WriteHeader(status int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	if status >= http.StatusBadRequest && isJSON(w.Header().Get("Content-Type")) {
		w.holding, w.status = true, status
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *translatingWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.holding {
		return w.held.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// Flush passes through, except while an error response is held back.
func (w *translatingWriter) Flush() {
	if w.holding {
		return
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *translatingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *translatingWriter) finish() {
	if !w.holding {
		return
	}
	body := w.held.Bytes()
	if e, ok := fromGraphQLShape(body); ok {
		e.status = w.status
		w.Header().Del("Content-Length")
		writeJSON(w.ResponseWriter, w.status, errorBody{Error: e})
		return
	}
	w.ResponseWriter.WriteHeader(w.status)
	_, _ = w.ResponseWriter.Write(body)
}

// fromGraphQLShape reads a GraphQL error response's first error.
func fromGraphQLShape(body []byte) (*apiError, bool) {
	var gql struct {
		Errors []struct {
			Message    string `json:"message"`
			Extensions struct {
				Code  string `json:"code"`
				Field string `json:"field"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &gql); err != nil || len(gql.Errors) == 0 || gql.Errors[0].Extensions.Code == "" {
		return nil, false
	}
	first := gql.Errors[0]
	return &apiError{Code: errcode.Code(first.Extensions.Code), Message: first.Message, Field: first.Extensions.Field}, true
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}
