package metrics

import (
	"time"

	"github.com/estateflow/estateflow/graph"
)

// GraphQL returns the GraphQL endpoint's observer, which feeds the
// operation latency and websocket metrics.
func (m *Metrics) GraphQL() graph.Observer { return graphqlObserver{m} }

type graphqlObserver struct{ m *Metrics }

var _ graph.Observer = graphqlObserver{}

func (o graphqlObserver) OperationDone(opType, name string, took time.Duration) {
	label := AnonymousLabel
	if name != "" {
		label = o.m.opNames.value(name)
	}
	o.m.operations.WithLabelValues(opType, label).Observe(took.Seconds())
}

func (o graphqlObserver) WebsocketOpened() { o.m.websockets.Inc() }
func (o graphqlObserver) WebsocketClosed() { o.m.websockets.Dec() }
func (o graphqlObserver) WebsocketStalled() {
	o.m.slowClosed.WithLabelValues(reasonStalledWebsocket).Inc()
}
