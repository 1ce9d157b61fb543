package httpserver_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/estateflow/estateflow/httpserver"
	"github.com/estateflow/estateflow/internal/requestid"
)

// TestPanicAndAccessLogCarryTheRequestID: a request whose handler panics
// gets INTERNAL with its request ID, and both the panic's log line and the
// access log line carry the ID of the X-Request-ID response header, added
// by the logger from the request's context.
func TestPanicAndAccessLogCarryTheRequestID(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(requestid.NewHandler(slog.NewJSONHandler(&logs, nil)))
	h := httpserver.RequestID(httpserver.AccessLog(logger)(httpserver.Recover(logger)(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("resolver bug") }))))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/graphql", nil))

	id := rec.Header().Get(httpserver.RequestIDHeader)
	want := `{"errors":[{"extensions":{"code":"INTERNAL"},"message":"internal error (request ` + id + `)"}]}` + "\n"
	if id == "" || rec.Code != http.StatusInternalServerError || rec.Body.String() != want {
		t.Fatalf("got %d %q (X-Request-ID %q), want 500 %q", rec.Code, rec.Body.String(), id, want)
	}
	seen := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(logs.String()), "\n") {
		var r struct {
			Msg       string `json:"msg"`
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		seen[r.Msg] = r.RequestID
	}
	for _, msg := range []string{"http: panic", "http request"} {
		if seen[msg] != id {
			t.Errorf("%q logged with request_id %q, want %q\n%s", msg, seen[msg], id, logs.String())
		}
	}
}

// TestRequestIDFromTheCaller keeps a sane X-Request-ID and replaces one
// that is not.
func TestRequestIDFromTheCaller(t *testing.T) {
	t.Parallel()
	var inContext string
	h := httpserver.RequestID(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		inContext, _ = requestid.FromContext(r.Context())
	}))
	for sent, keep := range map[string]bool{"lb-7f3a.2": true, "no spaces allowed": false, strings.Repeat("a", 65): false} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set(httpserver.RequestIDHeader, sent)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get(httpserver.RequestIDHeader)
		if got == "" || got != inContext || (got == sent) != keep {
			t.Errorf("sent %q: header %q, context %q", sent, got, inContext)
		}
	}
}

// TestGraphQLBodyTooLarge keeps the refusal of a body over the limit as it
// was: 413 with BAD_USER_INPUT.
func TestGraphQLBodyTooLarge(t *testing.T) {
	t.Parallel()
	h := httpserver.GraphQLBody(16)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("the handler was reached")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query": "{ viewer { role } }"}`)))
	want := `{"errors":[{"extensions":{"code":"BAD_USER_INPUT"},"message":"request body is larger than 16 bytes"}]}` + "\n"
	if rec.Code != http.StatusRequestEntityTooLarge || rec.Body.String() != want {
		t.Fatalf("got %d %q, want 413 %q", rec.Code, rec.Body.String(), want)
	}
}
