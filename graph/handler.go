package graph

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/graph/generated"
)

// HandlerConfig tunes the GraphQL endpoint.
type HandlerConfig struct {
	// Logger logs internal errors; wrap its handler with
	// requestid.NewHandler so that they carry the request ID.
	Logger *slog.Logger
	// OriginPatterns lists the hosts (path.Match patterns, as in
	// websocket.AcceptOptions) whose pages may open a websocket besides the
	// server's own origin.
	OriginPatterns []string
	// MaxPageSize bounds first and last on every connection.
	MaxPageSize int
	// MaxDepth and MaxComplexity bound an operation (see QueryLimits).
	MaxDepth      int
	MaxComplexity int
	// MaxExpensive bounds the @expensive fields (the CMA) of an operation
	// (default 10).
	MaxExpensive int
	// Introspection turns the schema introspection queries on.
	Introspection bool
	// Auth authenticates requests and websockets.
	Auth *auth.Authenticator
	// MaxSubscriptions bounds the subscriptions of one websocket, and the
	// operations of one graphql-sse reserved stream (default 10).
	MaxSubscriptions int
	// MaxStreamReservations bounds the graphql-sse reservations (single
	// connection mode) one token holds at once (default 20).
	MaxStreamReservations int
	// WriteTimeout is how long one write to a websocket or a reserved SSE
	// stream may take before the connection is closed as stalled
	// (default 10s).
	WriteTimeout time.Duration
	// Observer learns of operations and websockets, for metrics (default
	// NopObserver).
	Observer Observer
}

// NewHandler returns the /graphql endpoint: queries and mutations over POST
// and GET, subscriptions over websocket (graphql-transport-ws and the older
// graphql-ws) and server-sent events.
func NewHandler(client *ent.Client, eng *engine.Engine, cfg HandlerConfig) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = 100
	}
	if cfg.MaxDepth <= 0 {
		cfg.MaxDepth = 15
	}
	if cfg.MaxComplexity <= 0 {
		cfg.MaxComplexity = 20000
	}
	if cfg.MaxSubscriptions <= 0 {
		cfg.MaxSubscriptions = 10
	}
	if cfg.MaxStreamReservations <= 0 {
		cfg.MaxStreamReservations = 20
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.Observer == nil {
		cfg.Observer = NopObserver{}
	}
	srv := handler.New(NewSchema(client, eng, cfg.Auth, cfg.Logger))

	// The first transport that supports a request serves it: the refusal of
	// malformed text (it answers only requests it refuses), graphql-sse's
	// reserved streams (a PUT, or a request with a stream token), SSE in
	// distinct connections mode (POST with Accept: text/event-stream),
	// websockets, OPTIONS, then queries and mutations over GET and POST; what
	// is left is refused with a code.
	srv.AddTransport(malformedTextRefusal{})
	srv.AddTransport(newSSESingleConnection(cfg.MaxStreamReservations, cfg.MaxSubscriptions, cfg.WriteTimeout, cfg.Logger))
	srv.AddTransport(deadlineSSE{SSE: transport.SSE{KeepAlivePingInterval: 15 * time.Second}, WriteTimeout: cfg.WriteTimeout})
	srv.AddTransport(observedTransport{obs: cfg.Observer, Transport: transport.Websocket{
		// Auth's wrapper closes a connection its token ended with 4401.
		Implementation: cfg.Auth.WebsocketImplementation(deadlineWebsocket{
			AcceptOptions: websocket.AcceptOptions{OriginPatterns: cfg.OriginPatterns},
			WriteTimeout:  cfg.WriteTimeout,
			// A client that stops reading is closed within PingInterval +
			// WriteTimeout even when nothing blocks the server's writes.
			PingInterval: cfg.WriteTimeout,
			Logger:       cfg.Logger,
			// After the stall's close grace, so that the frames are garbage.
			Release: newMemoryRelease(closeGrace + 3*time.Second),
			OnStall: cfg.Observer.WebsocketStalled,
		}),
		KeepAlivePingInterval: 10 * time.Second,
		// graphql-transport-ws's one-way heartbeat, which keeps proxies
		// from closing a quiet connection and tells the client that the
		// server is alive.
		PongOnlyInterval: 10 * time.Second,
		InitTimeout:      10 * time.Second,
		InitFunc:         websocketInit(cfg.Auth.WebsocketInit),
	}})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(httpTransport{})
	srv.AddTransport(refusingTransport{})

	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.Use(operationTimer{obs: cfg.Observer})
	// Automatic persisted queries: a frontend sends a query's hash instead
	// of its text once the server has seen it.
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	if cfg.MaxExpensive <= 0 {
		cfg.MaxExpensive = 10
	}
	srv.Use(QueryLimits{MaxPage: cfg.MaxPageSize, MaxDepth: cfg.MaxDepth, MaxComplexity: cfg.MaxComplexity, MaxExpensive: cfg.MaxExpensive})
	// Half the cores for expensive operations, one token's at a time.
	srv.Use(NewExpensiveGate(runtime.GOMAXPROCS(0)/2, 8))
	srv.Use(auth.SubscriptionLimit{Max: cfg.MaxSubscriptions})

	presenter := errorPresenter{logger: cfg.Logger}
	srv.SetErrorPresenter(presenter.present)
	srv.SetRecoverFunc(func(ctx context.Context, v any) error {
		// The panic is logged with its stack; the client sees INTERNAL.
		cfg.Logger.ErrorContext(ctx, "graphql: panic in resolver", "panic", v, "stack", string(debug.Stack()))
		return fmt.Errorf("panic in resolver: %v", v)
	})
	return srv
}

// deadlineSSE is gqlgen's SSE transport (distinct connections mode), which
// writes with no deadline and ignores write errors, with a deadline on each
// write: one that misses it ends the request's context, so that the
// subscription ends, its memory is freed and the token's connection slot is
// released, as for a stalled websocket.
type deadlineSSE struct {
	transport.SSE
	WriteTimeout time.Duration
}

// Do implements graphql.Transport.
func (t deadlineSSE) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	dw := &deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: t.WriteTimeout, failed: cancel}
	t.SSE.Do(dw, r.WithContext(ctx), exec)
}

// deadlineWriter sets a write deadline before each write and flush, and
// calls failed when one fails.
type deadlineWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	failed  context.CancelFunc
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.timeout))
	n, err := d.ResponseWriter.Write(p)
	if err != nil {
		d.failed()
	}
	return n, err
}

// Flush implements http.Flusher, which gqlgen's SSE transport requires.
func (d *deadlineWriter) Flush() {
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.timeout))
	if err := d.rc.Flush(); err != nil {
		d.failed()
	}
}

func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

// schemaWithoutDefer is the generated schema less the @defer directive,
// which gqlparser declares in every schema's prelude. None of the server's
// transports delivers incremental results, so @defer was answered all at
// once while introspection advertised it; without it, a query that uses it
// fails validation (unknown directive) instead of being silently flattened.
func schemaWithoutDefer() *ast.Schema {
	full := generated.NewExecutableSchema(generated.Config{}).Schema()
	s := *full // the rest is shared, read-only
	s.Directives = maps.Clone(full.Directives)
	delete(s.Directives, "defer")
	return &s
}

var _ graphql.ErrorPresenterFunc = errorPresenter{}.present
