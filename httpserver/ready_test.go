package httpserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/httpserver"
)

func TestReadiness(t *testing.T) {
	t.Parallel()
	ok := func(context.Context) error { return nil }
	// A check's error may name hosts and users; it must not be served.
	failing := func(context.Context) error {
		return errors.New(`dial tcp db.internal:5432: password authentication failed for user "estateflow"`)
	}
	tests := []struct {
		name       string
		checks     []httpserver.Check
		wantStatus int
		wantChecks map[string]string
	}{
		{"no checks", nil, 200, map[string]string{}},
		{"every check ok", []httpserver.Check{{"database", ok}, {"jobs", ok}, {"events", ok}},
			200, map[string]string{"database": "ok", "jobs": "ok", "events": "ok"}},
		{"one failing", []httpserver.Check{{"database", ok}, {"jobs", failing}, {"events", ok}},
			503, map[string]string{"database": "ok", "jobs": "failing", "events": "ok"}},
		{"all failing", []httpserver.Check{{"database", failing}, {"jobs", failing}},
			503, map[string]string{"database": "failing", "jobs": "failing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			httpserver.Readiness(tt.checks...).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d", rec.Code, tt.wantStatus)
			}
			if rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("headers %v", rec.Header())
			}
			var body struct {
				Ready  bool              `json:"ready"`
				Checks map[string]string `json:"checks"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if body.Ready != (tt.wantStatus == 200) || len(body.Checks) != len(tt.wantChecks) {
				t.Fatalf("body %s, want checks %v", rec.Body, tt.wantChecks)
			}
			for name, want := range tt.wantChecks {
				if body.Checks[name] != want {
					t.Errorf("check %s: %q, want %q", name, body.Checks[name], want)
				}
			}
			for _, leak := range []string{"db.internal", "password", "estateflow"} {
				if strings.Contains(rec.Body.String(), leak) {
					t.Errorf("body %s carries %q", rec.Body, leak)
				}
			}
		})
	}
}

// A hung dependency answers "not ready" within the probe's bound (two
// seconds) rather than holding the load balancer's probe.
func TestReadinessBoundsAHungCheck(t *testing.T) {
	t.Parallel()
	hung := func(ctx context.Context) error {
		deadline, ok := ctx.Deadline()
		if !ok || time.Until(deadline) > 2*time.Second {
			t.Errorf("check context deadline %v (set: %v), want at most 2s away", deadline, ok)
		}
		<-ctx.Done()
		return ctx.Err()
	}
	h := httpserver.Readiness(httpserver.Check{Name: "database", Fn: hung}, httpserver.Check{Name: "jobs", Fn: func(context.Context) error { return nil }})
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		done <- rec
	}()
	select {
	case rec := <-done:
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"database":"failing"`) {
			t.Fatalf("status %d, body %s", rec.Code, rec.Body)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the readiness probe hung with its check")
	}
}
