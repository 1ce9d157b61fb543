package metrics

import (
	"context"
	"database/sql"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// riverLiveStates are the job states that make up a queue's depth: jobs
// not yet finished. Finished jobs (completed, cancelled, discarded) stay
// in the table until River prunes them and are not counted.
var riverLiveStates = []string{"available", "pending", "retryable", "running", "scheduled"}

// riverQueueCollector reads River's job table at each scrape: the number
// of live jobs by queue and state, and the age of each queue's oldest
// available job (how long the queue has been falling behind).
type riverQueueCollector struct {
	db     *sql.DB
	logger *slog.Logger
	jobs   *prometheus.Desc
	oldest *prometheus.Desc
}

func newRiverQueueCollector(db *sql.DB, logger *slog.Logger) *riverQueueCollector {
	return &riverQueueCollector{
		db: db, logger: logger,
		jobs: prometheus.NewDesc(Namespace+"_river_jobs",
			"River jobs not yet finished, by queue and state (available, pending, retryable, running, scheduled): the queue depth.",
			[]string{"queue", "state"}, nil),
		oldest: prometheus.NewDesc(Namespace+"_river_oldest_available_job_age_seconds",
			"Age of the oldest available River job of each queue, since it became available; 0 when none waits.",
			[]string{"queue"}, nil),
	}
}

func (c *riverQueueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.oldest
}

// riverQueueSQL groups the live jobs; River's index on (state, queue, …)
// serves it. The table is found on the connection's search_path, as River
// finds it.
const riverQueueSQL = `SELECT queue, state::text, count(*),
	COALESCE(EXTRACT(EPOCH FROM now() - min(scheduled_at) FILTER (WHERE state = 'available'))::float8, 0)
FROM river_job
WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled')
GROUP BY queue, state`

func (c *riverQueueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts := map[string]map[string]float64{river.QueueDefault: {}}
	oldest := map[string]float64{river.QueueDefault: 0}
	rows, err := c.db.QueryContext(ctx, riverQueueSQL)
	if err != nil {
		c.fail(ch, err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var (
			queue, state string
			n            int64
			age          float64
		)
		if err := rows.Scan(&queue, &state, &n, &age); err != nil {
			c.fail(ch, err)
			return
		}
		if counts[queue] == nil {
			counts[queue] = map[string]float64{}
		}
		counts[queue][state] = float64(n)
		oldest[queue] = max(oldest[queue], age)
	}
	if err := rows.Err(); err != nil {
		c.fail(ch, err)
		return
	}
	for queue, byState := range counts {
		// Every state is exported, at zero when empty, so that a series
		// does not vanish when its queue drains.
		for _, state := range riverLiveStates {
			ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, byState[state], queue, state)
		}
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, oldest[queue], queue)
	}
}

// fail reports a failed read in the scrape (promhttp logs it and serves
// the other metrics) without its SQL.
func (c *riverQueueCollector) fail(ch chan<- prometheus.Metric, err error) {
	c.logger.Warn("metrics: reading River's queue depth", "err", err)
	ch <- prometheus.NewInvalidMetric(c.jobs, err)
}

// RiverMiddleware measures each River job's latency: the time from when
// it became available (scheduled_at) to when a worker took it
// (attempted_at), both by the database's clock.
func (m *Metrics) RiverMiddleware() rivertype.Middleware { return &jobLatency{m: m} }

type jobLatency struct {
	river.MiddlewareDefaults
	m *Metrics
}

var _ rivertype.WorkerMiddleware = (*jobLatency)(nil)

// Work implements rivertype.WorkerMiddleware.
func (j *jobLatency) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	if job.AttemptedAt != nil {
		j.m.jobLatency.WithLabelValues(job.Queue).Observe(max(job.AttemptedAt.Sub(job.ScheduledAt), 0).Seconds())
	}
	return doInner(ctx)
}
