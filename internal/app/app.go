// Package app wires EstateFlow together: the database, the seed data, the
// authenticator, the workflow engine with every module, and the HTTP
// routes. It also holds the subcommands that server.go dispatches to.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"entgo.io/ent/dialect"
	"github.com/riverqueue/river/rivertype"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/httpserver"
	"github.com/estateflow/estateflow/internal/fdlimit"
	"github.com/estateflow/estateflow/internal/logscrub"
	"github.com/estateflow/estateflow/internal/requestid"
	"github.com/estateflow/estateflow/metrics"
	"github.com/estateflow/estateflow/modules"
	"github.com/estateflow/estateflow/modules/automation"
	"github.com/estateflow/estateflow/modules/spec"
	"github.com/estateflow/estateflow/modules/webhooks"
	"github.com/estateflow/estateflow/seed"
)

// App is a running EstateFlow: its engine executes steps from New on; Run
// serves HTTP.
type App struct {
	cfg     Config
	logger  *slog.Logger
	db      *database.DB
	boot    seed.Result
	authn   *auth.Authenticator
	engine  *engine.Engine
	metrics *metrics.Metrics
	handler http.Handler
}

// New opens and migrates the database, bootstraps the seed data, ensures
// the admin token (printing a new one once, to cfg.Stderr), starts the
// engine with every module's executors and mounts the routes.
func New(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	a := &App{cfg: cfg, logger: cfg.tests.logger}
	if a.logger == nil {
		a.logger = newLogger(cfg.Stderr, cfg)
	}
	if err := checkPublicURL(cfg.publicURL()); err != nil {
		return nil, err
	}
	db, err := openAndMigrate(ctx, cfg, a.logger)
	if err != nil {
		return nil, err
	}
	a.db = db
	if err := a.start(ctx); err != nil {
		_ = a.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) start(ctx context.Context) error {
	boot, err := seed.Bootstrap(ctx, a.db.Client, a.cfg.Demo, time.Now())
	if err != nil {
		return err
	}
	a.boot = boot
	if boot.Created {
		a.logger.Info("created demo organization", "slug", boot.Org.Slug, "properties", boot.Properties, "clients", boot.Clients)
	}
	if n, err := seed.AddMissingBuiltins(ctx, a.db.Client); err != nil {
		return err
	} else if n > 0 {
		a.logger.Info("added built-in packages that organizations lacked", "packages", n)
	}
	a.authn = auth.New(a.db.Client)
	a.authn.Logger = a.logger
	a.authn.Lookups = a.db.Lookups
	if a.cfg.MaxConnections > 0 {
		a.authn.MaxStreams = a.cfg.MaxConnections
	}
	secret, err := a.authn.EnsureAdminToken(ctx, boot.Org.Slug, a.cfg.AdminToken)
	if err != nil {
		return err
	}
	if secret != "" {
		// Printed once, for the operator: it is not stored and not logged again.
		fmt.Fprintf(a.cfg.Stderr, "\nThe %s organization's admin token (shown once; keep it):\n\n    %s\n\nUse it as: Authorization: Bearer <token>\n\n", boot.Org.Slug, secret)
	}
	a.metrics = newMetrics(a.db, a)
	eng := newEngine(a.db, a.cfg, a.logger, a.metrics)
	if err := eng.Start(ctx); err != nil {
		return err // Close stops only an engine that started, as serve always did
	}
	a.engine = eng
	a.handler = newRoutes(a.db, a.engine, a.authn, a.metrics, a.cfg, a.logger)
	return nil
}

// Handler serves every route: GraphQL, REST, the console, health and
// readiness.
func (a *App) Handler() http.Handler { return a.handler }

// Run listens on cfg.Addr and serves until ctx ends, then shuts down
// gracefully.
func (a *App) Run(ctx context.Context) error {
	a.raiseFileLimit()
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", a.cfg.Addr, err)
	}
	return a.Serve(ctx, ln)
}

// raiseFileLimit raises the soft limit of open files to the hard one
// (every websocket subscriber holds one) and logs the limit it serves
// with; where the system refuses, it logs why and serves on.
func (a *App) raiseFileLimit() {
	before, after, err := fdlimit.Raise()
	if err != nil {
		a.logger.Warn("open files limit not raised", "limit", before, "err", err)
		return
	}
	a.logger.Info("open files limit", "before", before, "limit", after)
}

// Serve is Run on a listener of the caller's.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	// Replicas' supervisors (and replicas_test.go) read the address from
	// this record.
	a.logger.Info("serving", "addr", ln.Addr().String(), "graphql", "/graphql", "playground", "/")
	if a.cfg.MetricsAddr == "" {
		return httpserver.Serve(ctx, ln, a.handler, httpserver.DefaultConfig(), a.logger)
	}
	mln, err := net.Listen("tcp", a.cfg.MetricsAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("listening on %s for metrics: %w", a.cfg.MetricsAddr, err)
	}
	return a.serveWithMetrics(ctx, ln, mln)
}

// serveWithMetrics serves the API on ln and the metrics on mln until ctx
// ends or either server fails; both then shut down gracefully.
func (a *App) serveWithMetrics(ctx context.Context, ln, mln net.Listener) error {
	a.logger.Info("serving metrics", "addr", mln.Addr().String(), "path", MetricsPath)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mux := newMetricsMux(a.metrics, a.cfg.Pprof)
	errs := make(chan error, 2)
	go func() { errs <- httpserver.Serve(ctx, mln, mux, httpserver.DefaultConfig(), a.logger) }()
	go func() { errs <- httpserver.Serve(ctx, ln, a.handler, httpserver.DefaultConfig(), a.logger) }()
	first := <-errs
	cancel() // the other server stops too
	return errors.Join(first, <-errs)
}

// Close stops the engine, then closes the database. Call it after Run has
// returned: requests in flight may still start or cancel runs during the
// HTTP server's grace period.
func (a *App) Close() error {
	var errs []error
	if a.engine != nil {
		if err := a.engine.Stop(context.Background()); err != nil {
			errs = append(errs, fmt.Errorf("stopping engine: %w", err))
		}
	}
	if a.db != nil {
		errs = append(errs, a.db.Close())
	}
	return errors.Join(errs...)
}

func openAndMigrate(ctx context.Context, cfg Config, logger *slog.Logger) (*database.DB, error) {
	db, err := database.Open(ctx, cfg.DatabaseURL, database.Options{MaxConns: cfg.DBMaxConns, Driver: cfg.tests.driver})
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	logger.Info("database ready", "dialect", db.Dialect)
	return db, nil
}

// newEngine builds the workflow engine, with PostgreSQL's River dispatch
// and fan-out when the database is PostgreSQL.
func newEngine(db *database.DB, cfg Config, logger *slog.Logger, m *metrics.Metrics) *engine.Engine {
	ecfg := engine.Config{Dialect: db.Dialect, Workers: cfg.Workers, Logger: logger, Observer: m.Engine(),
		AdmissionMaxWait: cfg.AdmissionMaxWait, RetentionInterval: cfg.RetentionInterval, Retention: retentionPolicies(db.Client)}
	if db.Dialect == dialect.Postgres {
		// Several replicas may share the database: steps go through River,
		// and every replica's subscribers see every event.
		ecfg.ListenDSN = cfg.DatabaseURL
		ecfg.River = &engine.RiverConfig{DB: db.SQL, ClientOnTx: db.ClientOnTx, ID: replicaID(cfg.ReplicaID),
			Middleware: []rivertype.Middleware{m.RiverMiddleware()}}
		if cfg.RiverListen {
			ecfg.River.ListenerDSN = cfg.DatabaseURL
		}
	}
	ecfg.CheckStart = modules.StartChecker(db.Client)
	schedules := automation.NewSchedules(db.Client, logger)
	ecfg.Periodic = schedules
	// A run's end and a step's failure write their webhook deliveries in
	// the transaction of the change.
	ecfg.OnEvents = webhooks.OnRunEvents
	if cfg.tests.engine != nil {
		cfg.tests.engine(&ecfg)
	}
	eng := engine.New(db.Client, ecfg)
	schedules.Bind(eng, eng.Now)
	modules.Register(eng, spec.Deps{Client: db.Client, Now: time.Now, PublicURL: cfg.publicURL()})
	eng.HandleTopic(automation.TriggerTopic, automation.Handler{Client: db.Client, Engine: eng}.Topic())
	hooks := &webhooks.Handler{Client: db.Client}
	if cfg.tests.webhooks != nil {
		cfg.tests.webhooks(hooks)
	}
	eng.HandleTopic(webhooks.Topic, hooks.Topic())
	if cfg.tests.executors != nil {
		for kind, ex := range cfg.tests.executors(db.Client) {
			eng.Register(string(kind), ex)
		}
	}
	return eng
}

// commandEngine is the engine of a command that serves nothing (import):
// never started, it opens the transactions whose outbox messages, such as
// the automation triggers of imported properties, a server's engine
// delivers: on PostgreSQL through the River jobs it inserts with them, on
// SQLite through the server's outbox loop (at once when it starts, else at
// its next sweep). Stop it when done.
func commandEngine(db *database.DB, cfg Config, logger *slog.Logger) *engine.Engine {
	return newEngine(db, cfg, logger, metrics.New(metrics.Options{Logger: logger}))
}

// replicaID names this process in River's records of who worked a job.
func replicaID(configured string) string {
	if configured != "" {
		return configured
	}
	host, err := os.Hostname()
	if err != nil {
		host = "estateflow"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// newLogger builds every logger the server uses. A record logged with a
// request's context gets its request ID (requestid), and every record
// passes through logscrub, so that no token secret, email address or phone
// number reaches the logs, whoever logs them.
func newLogger(w io.Writer, cfg Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogJSON {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(requestid.NewHandler(logscrub.New(h)))
}

// ScrubbingWriter removes secrets and contact details from what passes
// through it to w: main routes the standard log package through it, which
// gqlgen's transports report a few failures to, bypassing slog.
func ScrubbingWriter(w io.Writer) io.Writer { return scrubbedWriter{w} }

type scrubbedWriter struct{ w io.Writer }

func (s scrubbedWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(s.w, logscrub.String(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
