package app

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/graph"
	"github.com/estateflow/estateflow/httpserver"
	"github.com/estateflow/estateflow/metrics"
	"github.com/estateflow/estateflow/rest"
	"github.com/estateflow/estateflow/web"
)

func newRoutes(db *database.DB, eng *engine.Engine, authn *auth.Authenticator, m *metrics.Metrics, cfg Config, logger *slog.Logger) http.Handler {
	origins := httpserver.ParseOrigins(cfg.CORSOrigins)
	gql := graph.NewHandler(db.Client, eng, graph.HandlerConfig{
		Logger:           logger,
		OriginPatterns:   origins.WebsocketPatterns(),
		MaxPageSize:      100,
		MaxDepth:         cfg.MaxDepth,
		MaxComplexity:    cfg.MaxComplexity,
		MaxExpensive:     cfg.MaxExpensive,
		Introspection:    cfg.Introspection,
		Auth:             authn,
		MaxSubscriptions: cfg.MaxSubscriptions,
		// A reservation becomes a stream: the same bound as connections.
		MaxStreamReservations: cfg.MaxConnections,
		WriteTimeout:          cfg.WSWriteTimeout,
		Observer:              m.GraphQL(),
	})
	mux := http.NewServeMux()
	rateLimit := cfg.RateLimit
	if rateLimit <= 0 {
		rateLimit = 600
	}
	// One limiter for both APIs: a token's budget is per minute, whichever
	// endpoint it spends it on.
	limit := auth.RateLimit(rateLimit)
	limitPublic := auth.RateLimit(rateLimit)
	mux.Handle("/graphql", httpserver.CORS(origins)(httpserver.GraphQLBody(cfg.MaxBodyBytes)(
		authn.Middleware(limit(gql)))))
	// The REST endpoints (runs and their reports), behind the same chain; rest.TranslateErrors
	// gives the shared middleware's refusals the REST error shape.
	mux.Handle(rest.Prefix, httpserver.CORS(origins)(rest.TranslateErrors(rest.BodyLimit(cfg.MaxBodyBytes)(
		authn.Middleware(limit(rest.NewHandler(db.Client, eng, logger)))))))
	// The OpenAPI document describes the REST API and holds no data: no token.
	mux.Handle("GET "+rest.OpenAPIPath, httpserver.CORS(origins)(rest.OpenAPIHandler()))
	// The SDL for code generators is what introspection gives: served when
	// introspection is on.
	if cfg.Introspection {
		mux.Handle("GET "+graph.SchemaPath, httpserver.CORS(origins)(graph.SchemaHandler()))
	}
	// Unsubscribe links are public (no token): the signed token in the
	// path is the credential. Rate-limited by address like any tokenless
	// request; the handler bounds the body.
	unsubscribe := limitPublic(web.UnsubscribeHandler(db.Client, eng, logger))
	mux.Handle("GET "+web.UnsubscribePath+"{token}", unsubscribe)
	mux.Handle("POST "+web.UnsubscribePath+"{token}", unsubscribe)
	mux.Handle("GET /{$}", web.PlaygroundHandler("EstateFlow", "/graphql"))
	mux.Handle("GET "+web.AssetsPath, web.AssetsHandler())
	// The console: static files that talk to /graphql like any client.
	mux.Handle("GET /app", web.ConsoleHandler())
	mux.Handle("GET "+web.ConsolePath, web.ConsoleHandler())
	// Readiness asks the database; liveness must not: a liveness probe that
	// failed during a database outage would restart every replica, which
	// cures nothing.
	mux.HandleFunc("GET /readyz", httpserver.Readiness(
		httpserver.Check{Name: "database", Fn: db.SQL.PingContext},
		// Steps are claimed, executed and recorded through the database, so
		// no step runs while it is down, whatever the dispatcher says.
		httpserver.Check{Name: "jobs", Fn: func(ctx context.Context) error {
			if err := db.SQL.PingContext(ctx); err != nil {
				return err
			}
			return eng.JobsReady()
		}},
		httpserver.Check{Name: "events", Fn: func(context.Context) error { return eng.EventsReady() }},
	))
	mux.HandleFunc("GET /healthz", httpserver.Liveness)
	if cfg.MetricsAddr == "" { // otherwise only the operator's listener serves them
		mux.Handle("GET "+MetricsPath, metricsOnMain(m.Handler(), cfg.MetricsToken))
	}
	return httpserver.RequestID(httpserver.AccessLog(logger)(httpserver.Recover(logger)(mux)))
}
