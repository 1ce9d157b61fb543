package metrics

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes EstateFlow's own metrics.
const Namespace = "estateflow"

// Options tells New what to collect.
type Options struct {
	// DB is the database pool whose statistics (sql.DBStats) are exported
	// as go_sql_*{db_name="estateflow"}.
	DB *sql.DB
	// River, on PostgreSQL, exports River's queue depth, read from its job
	// table in DB at each scrape.
	River bool
	// PackageKey returns the key of a run's package, which labels the run
	// metrics. Keys never change, so each is read once. Nil, or an error:
	// the package counts as "unknown".
	PackageKey func(ctx context.Context, orgID, packageID int) (string, error)
	Logger     *slog.Logger
}

// Metrics is one server's collectors and their registry.
type Metrics struct {
	registry *prometheus.Registry
	opts     Options

	runsStarted  *prometheus.CounterVec
	runsFinished *prometheus.CounterVec
	stepDuration *prometheus.HistogramVec
	stepRetries  *prometheus.CounterVec
	stepTimeouts *prometheus.CounterVec
	streams      prometheus.Gauge
	websockets   prometheus.Gauge
	slowClosed   *prometheus.CounterVec
	operations   *prometheus.HistogramVec
	jobLatency   *prometheus.HistogramVec
	refused      prometheus.Counter
	compacted    *prometheus.CounterVec

	packages  *boundedLabel
	opNames   *boundedLabel
	keysMu    sync.Mutex
	keyByID   map[int]string // package ID → key, read once each
	keyLookup time.Duration
}

// maxCachedKeys bounds the package key cache; past it keys are read again
// each time (a run's start and end), which is only slower.
const maxCachedKeys = 10000

// New registers every collector in a new registry.
func New(opts Options) *Metrics {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m := &Metrics{
		registry:  prometheus.NewRegistry(),
		opts:      opts,
		packages:  newBoundedLabel(MaxLabelValues),
		opNames:   newBoundedLabel(MaxLabelValues),
		keyByID:   map[int]string{},
		keyLookup: 2 * time.Second,
	}
	m.runsStarted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "runs_started_total",
		Help: "Runs that started (left QUEUED), by package key.",
	}, []string{"package"})
	m.runsFinished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "runs_finished_total",
		Help: "Runs that ended, by package key and status (SUCCEEDED, FAILED, CANCELED). A retried run ends again.",
	}, []string{"package", "status"})
	m.stepDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "step_duration_seconds",
		Help:    "Duration of step attempts, by step kind and the status the attempt led to (SUCCEEDED, FAILED, RETRYING, CANCELED, AWAITING_APPROVAL).",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300},
	}, []string{"kind", "outcome"})
	m.stepRetries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "step_retries_total",
		Help: "Step attempts scheduled again (after a failure with attempts left, or an interrupted attempt), by step kind.",
	}, []string{"kind"})
	m.stepTimeouts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "step_timeouts_total",
		Help: "Step attempts that outlived their timeout, by step kind.",
	}, []string{"kind"})
	m.streams = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "subscriptions_active",
		Help: "Subscription streams (runEvents, runsUpdated) open on this process, over websockets and SSE.",
	})
	m.websockets = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "websocket_connections_active",
		Help: "GraphQL websocket connections open on this process.",
	})
	m.slowClosed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "slow_consumer_closes_total",
		Help: `Subscribers closed for falling behind: reason="buffer" (a stream's event buffer overflowed, SLOW_CONSUMER), reason="stalled_websocket" (a websocket write stalled past the write timeout).`,
	}, []string{"reason"})
	m.operations = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "graphql_operation_duration_seconds",
		Help:    `Latency of GraphQL queries and mutations, by type and operation name (the first 100 names; later ones are "other", unnamed ones "anonymous").`,
		Buckets: prometheus.DefBuckets,
	}, []string{"type", "operation"})
	m.jobLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "river_job_latency_seconds",
		Help:    "Time River jobs (step attempts) waited between becoming available and being worked, by queue (PostgreSQL only).",
		Buckets: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"queue"})
	m.refused = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: Namespace, Name: "run_starts_refused_total",
		Help: "startRun requests refused by admission control (RATE_LIMITED with Retry-After): the runs in flight would take longer than --admission-max-wait to drain.",
	})
	m.compacted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Name: "run_events_compacted_total",
		Help: `What the event retention compacted: what="runs" (runs compacted), what="events" (progress events removed).`,
	}, []string{"what"})

	m.registry.MustRegister(
		m.runsStarted, m.runsFinished, m.stepDuration, m.stepRetries, m.stepTimeouts,
		m.streams, m.websockets, m.slowClosed, m.operations, m.refused, m.compacted,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	// The slow-consumer reasons exist from the start, at zero, so that
	// rate() sees their first increase.
	m.slowClosed.WithLabelValues(reasonBuffer)
	m.slowClosed.WithLabelValues(reasonStalledWebsocket)
	m.compacted.WithLabelValues("runs")
	m.compacted.WithLabelValues("events")
	if opts.DB != nil {
		m.registry.MustRegister(collectors.NewDBStatsCollector(opts.DB, Namespace))
	}
	if opts.River && opts.DB != nil {
		m.registry.MustRegister(m.jobLatency, newRiverQueueCollector(opts.DB, opts.Logger))
	}
	return m
}

// Registry is the server's registry; tests and embedders may add to it.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Handler serves the registry in Prometheus's text (or negotiated) format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.opts.Logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})
}
