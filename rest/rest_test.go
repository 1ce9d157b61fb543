package rest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/estateflow/estateflow/httpserver"
	"github.com/estateflow/estateflow/internal/errcode"
)

func TestTranslateErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		status  int
		body    string
		header  string // Retry-After, kept
	}{
		{
			name: "GraphQL-shaped refusal",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "7")
				httpserver.WriteGraphQLError(w, http.StatusTooManyRequests, errcode.RateLimited, "slow down")
			},
			status: http.StatusTooManyRequests,
			body:   `{"error":{"code":"RATE_LIMITED","message":"slow down"}}` + "\n",
			header: "7",
		},
		{
			name: "REST error passes through",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeAPIError(w, badInput("limit", "limit must be a whole number"))
			},
			status: http.StatusBadRequest,
			body:   `{"error":{"code":"BAD_USER_INPUT","message":"limit must be a whole number","field":"limit"}}` + "\n",
		},
		{
			name: "success passes through",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{"errors": []string{"not an error envelope"}})
			},
			status: http.StatusOK,
			body:   `{"errors":["not an error envelope"]}` + "\n",
		},
		{
			name: "plain-text error passes through",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "shutting down", http.StatusServiceUnavailable)
			},
			status: http.StatusServiceUnavailable,
			body:   "shutting down\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			TranslateErrors(tc.handler).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if rec.Code != tc.status || rec.Body.String() != tc.body || rec.Header().Get("Retry-After") != tc.header {
				t.Fatalf("got %d %q (Retry-After %q), want %d %q", rec.Code, rec.Body.String(), rec.Header().Get("Retry-After"), tc.status, tc.body)
			}
		})
	}
}

func TestCursor(t *testing.T) {
	t.Parallel()
	for _, id := range []int{1, 21474836481, 1<<62 + 5} {
		if got, ok := decodeCursor(encodeCursor(id)); !ok || got != id {
			t.Fatalf("cursor of %d decodes to %d, %v", id, got, ok)
		}
	}
	for _, bad := range []string{"", "!!", "cnVuOg", "cnVuOi0x", "aGVsbG8"} { // "", not base64, "run:", "run:-1", "hello"
		if _, ok := decodeCursor(bad); ok {
			t.Fatalf("cursor %q accepted", bad)
		}
	}
}

func TestParseListQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		query    string
		limit    int
		statuses int
		field    string // of the error, if one
	}{
		{"", defaultLimit, 0, ""},
		{"limit=100", 100, 0, ""},
		{"limit=1&status=RUNNING,QUEUED&status=RUNNING", 1, 2, ""},
		{"limit=-1", 0, 0, "limit"},
		{"limit=1.5", 0, 0, "limit"},
		{"status=RUNNING,", 0, 0, "status"},
		{"cursor=%00", 0, 0, "cursor"},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseListQuery(q)
		if tc.field != "" {
			if e, ok := err.(*apiError); !ok || e.Field != tc.field || e.Code != errcode.BadUserInput {
				t.Fatalf("%q: error %v, want one on %s", tc.query, err, tc.field)
			}
			continue
		}
		if err != nil || got.limit != tc.limit || len(got.statuses) != tc.statuses {
			t.Fatalf("%q: %+v, %v", tc.query, got, err)
		}
	}
}
