package metrics

import (
	"context"
	"time"

	"github.com/estateflow/estateflow/engine"
)

// Slow-consumer close reasons.
const (
	reasonBuffer           = "buffer"
	reasonStalledWebsocket = "stalled_websocket"
)

// Engine returns the engine's observer, which feeds the run, step and
// stream metrics.
func (m *Metrics) Engine() engine.Observer { return engineObserver{m} }

type engineObserver struct{ m *Metrics }

var _ engine.Observer = engineObserver{}

func (o engineObserver) RunStarted(r engine.RunInfo) {
	o.m.runsStarted.WithLabelValues(o.m.packageLabel(r)).Inc()
}

func (o engineObserver) RunFinished(r engine.RunInfo, status string) {
	o.m.runsFinished.WithLabelValues(o.m.packageLabel(r), status).Inc()
}

func (o engineObserver) StepFinished(kind string, took time.Duration, outcome string) {
	o.m.stepDuration.WithLabelValues(kind, outcome).Observe(took.Seconds())
}

func (o engineObserver) StepRetrying(kind string) { o.m.stepRetries.WithLabelValues(kind).Inc() }
func (o engineObserver) StepTimedOut(kind string) { o.m.stepTimeouts.WithLabelValues(kind).Inc() }
func (o engineObserver) StreamOpened()            { o.m.streams.Inc() }
func (o engineObserver) StreamClosed()            { o.m.streams.Dec() }
func (o engineObserver) SlowConsumer()            { o.m.slowClosed.WithLabelValues(reasonBuffer).Inc() }

// StartRefused is not labelled by organization: their number is unbounded.
func (o engineObserver) StartRefused(int) { o.m.refused.Inc() }

func (o engineObserver) EventsCompacted(runs, events int) {
	o.m.compacted.WithLabelValues("runs").Add(float64(runs))
	o.m.compacted.WithLabelValues("events").Add(float64(events))
}

// packageLabel is the bounded label of a run's package key.
func (m *Metrics) packageLabel(r engine.RunInfo) string {
	m.keysMu.Lock()
	key, ok := m.keyByID[r.PackageID]
	m.keysMu.Unlock()
	if !ok {
		if m.opts.PackageKey == nil {
			return UnknownLabel
		}
		ctx, cancel := context.WithTimeout(context.Background(), m.keyLookup)
		defer cancel()
		var err error
		if key, err = m.opts.PackageKey(ctx, r.OrgID, r.PackageID); err != nil {
			m.opts.Logger.Warn("metrics: reading a package's key", "package_id", r.PackageID, "err", err)
			return UnknownLabel
		}
		m.keysMu.Lock()
		if len(m.keyByID) < maxCachedKeys {
			m.keyByID[r.PackageID] = key
		}
		m.keysMu.Unlock()
	}
	return m.packages.value(key)
}
