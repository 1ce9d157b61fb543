package httpserver_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/estateflow/estateflow/httpserver"
)

var generatedID = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestRequestID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		incoming []string // X-Request-ID values sent; nil sends none
		echoed   bool     // whether the response carries the incoming ID
	}{
		{"none sent", nil, false},
		{"empty", []string{""}, false},
		{"simple", []string{"abc123"}, true},
		{"every allowed character", []string{"Az09._-"}, true},
		{"a load balancer's UUID", []string{"5f0c6a1e-3b7d-4c2a-9e8f-0123456789ab"}, true},
		{"64 characters", []string{strings.Repeat("a", 64)}, true},
		{"65 characters", []string{strings.Repeat("a", 65)}, false},
		{"space", []string{"abc 123"}, false},
		{"markup", []string{"<script>alert(1)</script>"}, false},
		{"log-line forgery", []string{"abc\\n{\"level\":\"ERROR\"}"}, false},
		{"non-ASCII", []string{"idé"}, false},
		{"slash", []string{"a/b"}, false},
		{"only the first of several is read", []string{"first", "second"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := httpserver.RequestID(okHandler("ok"))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, v := range tt.incoming {
				req.Header.Add(httpserver.RequestIDHeader, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Result().Header.Values("X-Request-ID")
			if len(got) != 1 {
				t.Fatalf("response X-Request-ID %q, want exactly one", got)
			}
			if tt.echoed {
				if got[0] != tt.incoming[0] {
					t.Fatalf("response X-Request-ID %q, want the incoming %q", got[0], tt.incoming[0])
				}
				return
			}
			if !generatedID.MatchString(got[0]) {
				t.Fatalf("response X-Request-ID %q is not a generated ID", got[0])
			}
		})
	}
}

func TestRequestIDGeneratesADifferentIDPerRequest(t *testing.T) {
	t.Parallel()
	h := httpserver.RequestID(okHandler("ok"))
	seen := map[string]bool{}
	for range 100 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		id := rec.Header().Get("X-Request-ID")
		if seen[id] {
			t.Fatalf("request ID %q generated twice", id)
		}
		seen[id] = true
	}
}

// The handlers behind RequestID see the same ID the caller gets back: the
// access log records it and a 500 quotes it, so that a user's report can
// be matched to the log.
func TestRequestIDReachesTheLogAndTheErrorMessage(t *testing.T) {
	t.Parallel()
	for _, incoming := range []string{"", "caller-chosen-id"} {
		t.Run("incoming="+incoming, func(t *testing.T) {
			t.Parallel()
			logger, logs := newLogger()
			panicking := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
			h := httpserver.RequestID(httpserver.AccessLog(logger)(httpserver.Recover(logger)(panicking)))
			req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
			if incoming != "" {
				req.Header.Set("X-Request-ID", incoming)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			id := rec.Header().Get("X-Request-ID")
			if id == "" || (incoming != "" && id != incoming) {
				t.Fatalf("response X-Request-ID %q (sent %q)", id, incoming)
			}
			if msg := decodeGraphQLError(t, rec.Body.Bytes()).Message; !strings.Contains(msg, id) {
				t.Errorf("error message %q does not quote request %s", msg, id)
			}
			for _, msg := range []string{"http request", "http: panic"} {
				recs := logs.records(t, msg)
				if len(recs) != 1 || recs[0]["request_id"] != id {
					t.Errorf("%q records %v, want one with request_id %s", msg, recs, id)
				}
			}
		})
	}
}
