// Command estateflow serves EstateFlow's GraphQL API.
//
//	go run .             serve on :8080 with an embedded SQLite database
//	go run . migrate     only bring the database schema up to date
//	go run . --help      list the flags and their environment variables
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // follow-ups are scheduled in each organization's time zone, even where the system has no zone files

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/graph"
	"github.com/estateflow/estateflow/httpserver"
	"github.com/estateflow/estateflow/internal/logscrub"
	"github.com/estateflow/estateflow/internal/requestid"
	"github.com/estateflow/estateflow/modules"
	"github.com/estateflow/estateflow/modules/spec"
	"github.com/estateflow/estateflow/rest"
	"github.com/estateflow/estateflow/seed"
	"github.com/estateflow/estateflow/web"
)

func main() {
	// gqlgen's transports report a few failures through the standard log
	// package, bypassing slog; they get the same scrubbing.
	log.SetOutput(scrubbedWriter{os.Stderr})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "estateflow:", err)
		os.Exit(1)
	}
}

// scrubbedWriter removes secrets and contact details from what passes
// through it.
type scrubbedWriter struct{ w io.Writer }

func (s scrubbedWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(s.w, logscrub.String(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// config holds the settings shared by every subcommand. Each flag has an
// environment variable; a flag given on the command line wins.
type config struct {
	addr          string
	databaseURL   string
	demo          bool
	maxBodyBytes  int64
	corsOrigins   string
	adminToken    string
	introspection bool
	rateLimit     int
	maxStreams    int
	maxSubs       int
	maxDepth      int
	maxCost       int
	workers       int
	replicaID     string
	dbMaxConns    int
	riverListen   bool
	logLevel      slog.Level
	logJSON       bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	command := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		command, args = args[0], args[1:]
	}
	var (
		cfg config
		env envReader
	)
	fs := flag.NewFlagSet("estateflow "+command, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", env.str("ESTATEFLOW_ADDR", ":8080"), "address to listen on (env ESTATEFLOW_ADDR)")
	fs.StringVar(&cfg.databaseURL, "database-url", env.str("DATABASE_URL", database.DefaultURL),
		"postgres://… for PostgreSQL, otherwise a SQLite file path (env DATABASE_URL)")
	fs.BoolVar(&cfg.demo, "demo", env.bool("ESTATEFLOW_DEMO", true),
		"fill a new, empty database with demo properties and clients (env ESTATEFLOW_DEMO)")
	fs.Int64Var(&cfg.maxBodyBytes, "max-body-bytes", env.int("ESTATEFLOW_MAX_BODY_BYTES", 1<<20),
		"largest accepted GraphQL request body, in bytes (env ESTATEFLOW_MAX_BODY_BYTES)")
	cfg.adminToken = env.str("ESTATEFLOW_ADMIN_TOKEN", "") // an environment variable only: flags show in process lists
	fs.StringVar(&cfg.corsOrigins, "cors-origins", env.str("ESTATEFLOW_CORS_ORIGINS", ""),
		"comma-separated browser origins allowed to call the API besides same-origin and localhost pages (env ESTATEFLOW_CORS_ORIGINS)")
	fs.BoolVar(&cfg.introspection, "introspection", env.bool("ESTATEFLOW_INTROSPECTION", true),
		"answer GraphQL introspection queries (env ESTATEFLOW_INTROSPECTION)")
	fs.IntVar(&cfg.rateLimit, "rate-limit", int(env.int("ESTATEFLOW_RATE_LIMIT", 600)),
		"requests a minute per token (env ESTATEFLOW_RATE_LIMIT)")
	fs.IntVar(&cfg.maxStreams, "max-connections", int(env.int("ESTATEFLOW_MAX_CONNECTIONS", 20)),
		"open websocket and SSE connections per token (env ESTATEFLOW_MAX_CONNECTIONS)")
	fs.IntVar(&cfg.maxSubs, "max-subscriptions", int(env.int("ESTATEFLOW_MAX_SUBSCRIPTIONS", 10)),
		"subscriptions open at once on one websocket (env ESTATEFLOW_MAX_SUBSCRIPTIONS)")
	fs.IntVar(&cfg.maxDepth, "max-depth", int(env.int("ESTATEFLOW_MAX_DEPTH", 15)),
		"deepest field nesting a GraphQL operation may use (env ESTATEFLOW_MAX_DEPTH)")
	fs.IntVar(&cfg.maxCost, "max-complexity", int(env.int("ESTATEFLOW_MAX_COMPLEXITY", 20000)),
		"highest complexity a GraphQL operation may have; a connection counts its fields once per item asked for (env ESTATEFLOW_MAX_COMPLEXITY)")
	fs.IntVar(&cfg.workers, "workers", int(env.int("ESTATEFLOW_WORKERS", 0)),
		"steps executed at once; 0 means 16 per CPU (env ESTATEFLOW_WORKERS)")
	fs.IntVar(&cfg.dbMaxConns, "db-max-conns", int(env.int("ESTATEFLOW_DB_MAX_CONNS", 40)),
		"PostgreSQL connections this process may open; replicas share the server's max_connections (env ESTATEFLOW_DB_MAX_CONNS)")
	fs.StringVar(&cfg.replicaID, "replica-id", env.str("ESTATEFLOW_REPLICA_ID", ""),
		"this process's name among the replicas sharing a PostgreSQL database (default: host name and process ID) (env ESTATEFLOW_REPLICA_ID)")
	fs.BoolVar(&cfg.riverListen, "river-listen", env.bool("ESTATEFLOW_RIVER_LISTEN", true),
		"on PostgreSQL, pick up step jobs as they are inserted (LISTEN) instead of by polling every 100ms (env ESTATEFLOW_RIVER_LISTEN)")
	logLevel := fs.String("log-level", env.str("ESTATEFLOW_LOG_LEVEL", "info"), "debug, info, warn or error (env ESTATEFLOW_LOG_LEVEL)")
	fs.BoolVar(&cfg.logJSON, "log-json", env.bool("ESTATEFLOW_LOG_JSON", false), "log as JSON instead of text (env ESTATEFLOW_LOG_JSON)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: estateflow [command] [flags]\n\n"+
			"  serve                       serve the GraphQL API (the default)\n"+
			"  migrate                     bring the database schema up to date, then exit\n"+
			"  import properties FILE.csv  upsert properties from a CSV file (--org SLUG)\n"+
			"  cma backtest --csv FILE     value every sale in FILE from the others (--json)\n"+
			"  token create --org SLUG --user EMAIL [--role admin]\n"+
			"                              print a new API token (creates the org and user if new)\n\nFlags:\n")
		fs.PrintDefaults()
	}
	// Commands with arguments add their own flags to the same set, so that
	// global and command flags can be given in any order.
	var (
		importOrg                                 *string
		cmaCSV                                    *string
		cmaJSON                                   *bool
		tokenOrg, tokenUser, tokenRole, tokenName *string
	)
	switch command {
	case "import":
		importOrg = fs.String("org", seed.DemoOrgSlug, "import: slug of the organization to import into")
	case "token":
		tokenOrg = fs.String("org", "", "token create: the organization's slug (created if missing)")
		tokenUser = fs.String("user", "", "token create: the user's email (created if missing)")
		tokenRole = fs.String("role", "agent", "token create: admin or agent, for a new user")
		tokenName = fs.String("name", "cli", "token create: a name to recognize the token by")
	case "cma":
		cmaCSV = fs.String("csv", "", "cma backtest: the sales file to value")
		cmaJSON = fs.Bool("json", false, "cma backtest: print one JSON object")
	}
	if err := env.err(); err != nil {
		return err
	}
	positional, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(positional) > 0 && command != "import" && command != "cma" && command != "token" {
		fs.Usage()
		return fmt.Errorf("unexpected argument %q", positional[0])
	}
	if err := cfg.logLevel.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := newLogger(stderr, cfg)

	switch command {
	case "serve":
		return serve(ctx, cfg, logger, nil)
	case "import":
		return runImport(ctx, cfg, *importOrg, positional, stdout, stderr)
	case "token":
		return runTokenCreate(ctx, cfg, positional, *tokenOrg, *tokenUser, *tokenRole, *tokenName, stdout)
	case "cma":
		if len(positional) != 1 || positional[0] != "backtest" {
			return fmt.Errorf("cma: usage: estateflow cma backtest --csv FILE [--json]")
		}
		return runCMABacktest(ctx, *cmaCSV, *cmaJSON, stdout, stderr)
	case "migrate":
		db, err := openAndMigrate(ctx, cfg, logger)
		if err != nil {
			return err
		}
		defer db.Close()
		fmt.Fprintln(stdout, "schema is up to date")
		return nil
	default:
		fs.Usage()
		return fmt.Errorf("unknown command %q", command)
	}
}

func openAndMigrate(ctx context.Context, cfg config, logger *slog.Logger) (*database.DB, error) {
	db, err := database.Open(ctx, cfg.databaseURL, database.Options{MaxConns: cfg.dbMaxConns})
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

// serve runs the server until ctx ends. When ready is not nil it receives the
// listening address once requests can be served (tests use it).
func serve(ctx context.Context, cfg config, logger *slog.Logger, ready chan<- net.Addr) error {
	db, err := openAndMigrate(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	boot, err := seed.Bootstrap(ctx, db.Client, cfg.demo, time.Now())
	if err != nil {
		return err
	}
	if boot.Created {
		logger.Info("created demo organization", "slug", boot.Org.Slug, "properties", boot.Properties, "clients", boot.Clients)
	}
	authn := auth.New(db.Client)
	authn.Logger = logger
	if cfg.maxStreams > 0 {
		authn.MaxStreams = cfg.maxStreams
	}
	secret, err := authn.EnsureAdminToken(ctx, boot.Org.Slug, cfg.adminToken)
	if err != nil {
		return err
	}
	if secret != "" {
		// Printed once, for the operator: it is not stored and not logged again.
		fmt.Fprintf(os.Stderr, "\nThe %s organization's admin token (shown once; keep it):\n\n    %s\n\nUse it as: Authorization: Bearer <token>\n\n", boot.Org.Slug, secret)
	}

	eng := newEngine(db, cfg, logger)
	if err := eng.Start(ctx); err != nil {
		return err
	}
	// Stopped after the HTTP server: requests in flight may still start
	// or cancel runs during its grace period.
	defer func() {
		if err := eng.Stop(context.WithoutCancel(ctx)); err != nil {
			logger.Error("stopping engine", "err", err)
		}
	}()

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.addr, err)
	}
	logger.Info("serving", "addr", ln.Addr().String(), "graphql", "/graphql", "playground", "/")
	if ready != nil {
		ready <- ln.Addr()
	}
	routes := newRoutes(db, eng, authn, cfg, logger)
	return httpserver.Serve(ctx, ln, routes, httpserver.DefaultConfig(), logger)
}

// newEngine builds the workflow engine. Step executors come from the
// real-estate modules; a step kind without one fails its step at once.
func newEngine(db *database.DB, cfg config, logger *slog.Logger) *engine.Engine {
	ecfg := engine.Config{Dialect: db.Dialect, Workers: cfg.workers, Logger: logger}
	if db.Dialect == dialect.Postgres {
		// Several replicas may share the database: steps go through River,
		// and every replica's subscribers see every event.
		ecfg.ListenDSN = cfg.databaseURL
		ecfg.River = &engine.RiverConfig{DB: db.SQL, ClientOnTx: db.ClientOnTx, ID: replicaID(cfg.replicaID)}
		if cfg.riverListen {
			ecfg.River.ListenerDSN = cfg.databaseURL
		}
	}
	ecfg.CheckStart = modules.StartChecker(db.Client)
	eng := engine.New(db.Client, ecfg)
	modules.Register(eng, spec.Deps{Client: db.Client, Now: time.Now})
	return eng
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

func newRoutes(db *database.DB, eng *engine.Engine, authn *auth.Authenticator, cfg config, logger *slog.Logger) http.Handler {
	origins := httpserver.ParseOrigins(cfg.corsOrigins)
	gql := graph.NewHandler(db.Client, eng, graph.HandlerConfig{
		Logger:           logger,
		OriginPatterns:   origins.WebsocketPatterns(),
		MaxPageSize:      100,
		MaxDepth:         cfg.maxDepth,
		MaxComplexity:    cfg.maxCost,
		Introspection:    cfg.introspection,
		Auth:             authn,
		MaxSubscriptions: cfg.maxSubs,
	})
	mux := http.NewServeMux()
	rateLimit := cfg.rateLimit
	if rateLimit <= 0 {
		rateLimit = 600
	}
	// One limiter for both APIs: a token's budget is per minute, whichever
	// endpoint it spends it on.
	limit := auth.RateLimit(rateLimit)
	mux.Handle("/graphql", httpserver.CORS(origins)(httpserver.GraphQLBody(cfg.maxBodyBytes)(
		authn.Middleware(limit(gql)))))
	// The legacy REST endpoints, behind the same chain; rest.TranslateErrors
	// gives the shared middleware's refusals the REST error shape.
	mux.Handle(rest.Prefix, httpserver.CORS(origins)(rest.TranslateErrors(rest.BodyLimit(cfg.maxBodyBytes)(
		authn.Middleware(limit(rest.NewHandler(db.Client, eng, logger)))))))
	mux.Handle("GET /{$}", web.PlaygroundHandler("EstateFlow", "/graphql"))
	mux.Handle("GET "+web.AssetsPath, web.AssetsHandler())
	mux.HandleFunc("GET /readyz", httpserver.Readiness(
		httpserver.Check{Name: "database", Fn: db.SQL.PingContext},
		httpserver.Check{Name: "jobs", Fn: func(context.Context) error { return eng.JobsReady() }},
		httpserver.Check{Name: "events", Fn: func(context.Context) error { return eng.EventsReady() }},
	))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := db.SQL.PingContext(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	return httpserver.RequestID(httpserver.AccessLog(logger)(httpserver.Recover(logger)(mux)))
}

// newLogger builds every logger the server uses. A record logged with a
// request's context carries its request_id; then it passes through
// logscrub (request ID included), so that no token secret, email address
// or phone number reaches the logs, whoever logs them.
func newLogger(w io.Writer, cfg config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.logLevel}
	var out slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.logJSON {
		out = slog.NewJSONHandler(w, opts)
	}
	return slog.New(requestid.NewHandler(logscrub.New(out)))
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments, which it returns in order.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// envReader reads flag defaults from the environment and remembers the
// first malformed value, so that a typo fails start-up instead of being
// silently replaced by the default.
type envReader struct{ errs []error }

func (e *envReader) str(key, fallback string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return fallback
}

func (e *envReader) bool(key string, fallback bool) bool {
	v, ok := os.LookupEnv(key)
	if !ok || v == "" {
		return fallback
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want true or false", key, v))
		return fallback
	}
	return b
}

func (e *envReader) int(key string, fallback int64) int64 {
	v, ok := os.LookupEnv(key)
	if !ok || v == "" {
		return fallback
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want a whole number", key, v))
		return fallback
	}
	return n
}

func (e *envReader) err() error { return errors.Join(e.errs...) }
