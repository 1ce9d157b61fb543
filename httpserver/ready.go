package httpserver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// Check is one dependency a process needs to take work.
type Check struct {
	Name string
	Fn   func(context.Context) error
}

// readinessTimeout bounds a readiness probe, so that a hung dependency
// answers "not ready" rather than holding the probe.
const readinessTimeout = 2 * time.Second

// Readiness tells a load balancer whether to send this process work: 200
// when every check passes, 503 otherwise, with a JSON body naming the
// failing checks. The checks' errors are not shown (they may name hosts or
// users); callers log them where useful.
func Readiness(checks ...Check) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readinessTimeout)
		defer cancel()
		results := make(map[string]string, len(checks))
		ready := true
		for _, c := range checks {
			results[c.Name] = "ok"
			if err := c.Fn(ctx); err != nil {
				results[c.Name], ready = "failing", false
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ready": ready, "checks": results})
	}
}

// Liveness tells a supervisor the process is up and serving HTTP: always
// 200. It consults no dependency, on purpose: restarting a process cures
// nothing when the database is down, and /readyz already takes an
// unready replica out of rotation.
func Liveness(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, "ok\n")
}
