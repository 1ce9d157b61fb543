package graph

import (
	"context"
	"fmt"
	"log/slog"
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
	// MaxSubscriptions bounds the subscriptions of one websocket (default 10).
	MaxSubscriptions int
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
	srv := handler.New(NewSchema(client, eng, cfg.Auth, cfg.Logger))

	srv.AddTransport(malformedTextRefusal{}) // first: it answers only requests it refuses
	srv.AddTransport(transport.SSE{KeepAlivePingInterval: 15 * time.Second})
	srv.AddTransport(transport.Websocket{
		// Auth's wrapper closes a connection its token ended with 4401.
		Implementation: cfg.Auth.WebsocketImplementation(transport.CoderWebsocketImplementation{
			AcceptOptions: websocket.AcceptOptions{OriginPatterns: cfg.OriginPatterns},
		}),
		KeepAlivePingInterval: 10 * time.Second,
		InitTimeout:           10 * time.Second,
		InitFunc:              websocketInit(cfg.Auth.WebsocketInit),
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})

	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
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
	if cfg.MaxSubscriptions <= 0 {
		cfg.MaxSubscriptions = 10
	}
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

var _ graphql.ErrorPresenterFunc = errorPresenter{}.present
