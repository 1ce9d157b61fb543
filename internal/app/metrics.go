package app

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"strings"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/ent/workflowpackage"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/metrics"
	"github.com/estateflow/estateflow/tenant"
)

// MetricsPath is where Prometheus metrics are served.
const MetricsPath = "/metrics"

// newMetrics builds the server's metrics over its database: the pool's
// statistics, River's queue on PostgreSQL, and run metrics labelled by
// package key, read as the run's organization.
func newMetrics(db *database.DB, a *App) *metrics.Metrics {
	return metrics.New(metrics.Options{
		DB:    db.SQL,
		River: db.Dialect == dialect.Postgres,
		PackageKey: func(ctx context.Context, orgID, packageID int) (string, error) {
			ctx = tenant.NewContext(ctx, tenant.Viewer{OrgID: orgID})
			p, err := db.Client.WorkflowPackage.Query().Where(workflowpackage.ID(packageID)).
				Select(workflowpackage.FieldKey).Only(ctx)
			if err != nil {
				return "", err
			}
			return p.Key, nil
		},
		Logger: a.logger,
	})
}

// newMetricsMux is what the operator's listener (-metrics-addr) serves:
// /metrics, with no authentication.
func newMetricsMux(m *metrics.Metrics, withPprof bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+MetricsPath, m.Handler())
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// metricsOnMain is /metrics on the main listener. The labels name every
// organization's package keys and every client's operation names, so an
// operator who exposes the main listener sets ESTATEFLOW_METRICS_TOKEN
// (Prometheus sends it as authorization.credentials) or serves metrics on
// a private -metrics-addr instead.
func metricsOnMain(h http.Handler, token string) http.Handler {
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(strings.TrimSpace(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="estateflow-metrics"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{
				"code":    string(errcode.Unauthenticated),
				"message": "/metrics needs the metrics token (ESTATEFLOW_METRICS_TOKEN) as a bearer token",
			}})
			return
		}
		h.ServeHTTP(w, r)
	})
}
