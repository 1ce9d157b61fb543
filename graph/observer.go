package graph

import (
	"context"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// Observer learns of the endpoint's operations and websockets, for
// metrics. Calls come from many goroutines and must return quickly.
type Observer interface {
	// OperationDone: a query or mutation was executed. opType is "query"
	// or "mutation"; name is the operation's name as the client gave it
	// ("" when anonymous): bounding the names is the observer's business.
	// took runs from the request's arrival to the response.
	OperationDone(opType, name string, took time.Duration)
	// WebsocketOpened and WebsocketClosed bracket a websocket connection.
	WebsocketOpened()
	WebsocketClosed()
	// WebsocketStalled: a websocket whose client stopped reading was
	// closed (a slow consumer, see CloseWriteTimeout).
	WebsocketStalled()
}

// NopObserver observes nothing; it is the default.
type NopObserver struct{}

func (NopObserver) OperationDone(string, string, time.Duration) {}
func (NopObserver) WebsocketOpened()                            {}
func (NopObserver) WebsocketClosed()                            {}
func (NopObserver) WebsocketStalled()                           {}

// operationTimer reports each executed query's and mutation's latency.
// Subscriptions are left out: their responses are events, whose timing is
// the run's, not the server's.
type operationTimer struct{ obs Observer }

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = operationTimer{}

func (operationTimer) ExtensionName() string                   { return "OperationTimer" }
func (operationTimer) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse implements graphql.ResponseInterceptor.
func (t operationTimer) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation == nil || oc.Operation.Operation == ast.Subscription {
		return next(ctx)
	}
	resp := next(ctx)
	start := oc.Stats.OperationStart
	if start.IsZero() {
		return resp
	}
	t.obs.OperationDone(string(oc.Operation.Operation), oc.Operation.Name, time.Since(start))
	return resp
}

// observedTransport counts the websocket connections its transport serves:
// gqlgen's websocket transport serves a connection, from its upgrade to
// its close, within one call of Do.
type observedTransport struct {
	graphql.Transport
	obs Observer
}

// Do implements graphql.Transport.
func (t observedTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	t.obs.WebsocketOpened()
	defer t.obs.WebsocketClosed()
	t.Transport.Do(w, r, exec)
}
