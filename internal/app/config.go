package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/modules/webhooks"
)

// Config holds every setting of the server and its subcommands. Each
// setting has a flag and an environment variable; a flag given on the
// command line wins. The zero value is not the default: the subcommands
// fill it from their flags (see commandLine), tests set what they need.
type Config struct {
	Addr         string // -addr, ESTATEFLOW_ADDR
	DatabaseURL  string // -database-url, DATABASE_URL
	DBMaxConns   int    // -db-max-conns, ESTATEFLOW_DB_MAX_CONNS
	Demo         bool   // -demo, ESTATEFLOW_DEMO
	MaxBodyBytes int64  // -max-body-bytes, ESTATEFLOW_MAX_BODY_BYTES
	CORSOrigins  string // -cors-origins, ESTATEFLOW_CORS_ORIGINS
	// AdminToken is read from ESTATEFLOW_ADMIN_TOKEN only: flags show in
	// process lists.
	AdminToken       string
	Introspection    bool // -introspection, ESTATEFLOW_INTROSPECTION
	RateLimit        int  // -rate-limit, ESTATEFLOW_RATE_LIMIT
	MaxConnections   int  // -max-connections, ESTATEFLOW_MAX_CONNECTIONS
	MaxSubscriptions int  // -max-subscriptions, ESTATEFLOW_MAX_SUBSCRIPTIONS
	MaxDepth         int  // -max-depth, ESTATEFLOW_MAX_DEPTH
	MaxComplexity    int  // -max-complexity, ESTATEFLOW_MAX_COMPLEXITY
	MaxExpensive     int  // -max-expensive-fields, ESTATEFLOW_MAX_EXPENSIVE_FIELDS
	// WSWriteTimeout (-ws-write-timeout, ESTATEFLOW_WS_WRITE_TIMEOUT) closes
	// a websocket or reserved SSE stream whose client stops reading; it is
	// also a websocket's ping interval and pong deadline.
	WSWriteTimeout time.Duration
	Workers        int // -workers, ESTATEFLOW_WORKERS
	// AdmissionMaxWait (-admission-max-wait, ESTATEFLOW_ADMISSION_MAX_WAIT)
	// is how long the runs in flight may take to drain before startRun
	// answers RATE_LIMITED with a Retry-After; 0 admits every run.
	AdmissionMaxWait time.Duration
	// RetentionInterval (-retention-interval,
	// ESTATEFLOW_RETENTION_INTERVAL) is how often the organizations' event
	// retention compacts finished runs.
	RetentionInterval time.Duration
	ReplicaID         string // -replica-id, ESTATEFLOW_REPLICA_ID
	RiverListen       bool   // -river-listen, ESTATEFLOW_RIVER_LISTEN
	LogLevel          slog.Level
	LogJSON           bool // -log-json, ESTATEFLOW_LOG_JSON
	// MetricsAddr (-metrics-addr, ESTATEFLOW_METRICS_ADDR), when set,
	// serves /metrics on a listener of its own, for operators, and not on
	// Addr. Empty: /metrics is on Addr.
	MetricsAddr string
	// Pprof (-pprof, ESTATEFLOW_PPROF) also serves Go's profiles
	// (net/http/pprof, /debug/pprof/) on MetricsAddr, which it needs: the
	// profiles show the server's code and data, so never on Addr.
	Pprof bool
	// MetricsToken, read from ESTATEFLOW_METRICS_TOKEN only, is the bearer
	// token /metrics asks for on Addr (not on MetricsAddr). Empty: /metrics
	// on Addr is open.
	MetricsToken string
	// PublicURL (-public-url, ESTATEFLOW_PUBLIC_URL) is the server's
	// address as email recipients reach it: unsubscribe links are built on
	// it. Empty means DefaultPublicURL.
	PublicURL string

	// Stderr receives the logs and the one-time admin token; nil discards
	// both.
	Stderr io.Writer

	// tests adjusts New for this package's tests; the zero value is what
	// production runs.
	tests testHooks
}

// testHooks are the few things tests change that no operator should: they
// are unexported so that they cannot be set from outside this package.
type testHooks struct {
	logger    *slog.Logger                                        // replaces the one built from LogLevel and LogJSON
	driver    func(dialect.Driver) dialect.Driver                 // wraps the database driver (to count queries, inject faults)
	engine    func(*engine.Config)                                // adjusts timings (backoff, progress, shutdown grace)
	executors func(*ent.Client) map[stepkind.Kind]engine.Executor // registered after the modules' own, so they win
	webhooks  func(*webhooks.Handler)                             // adjusts webhook deliveries (backoff, attempts, clock)
}

// commandLine is one subcommand's flag set. Flags read their defaults from
// the environment; each subcommand adds only the groups it uses.
type commandLine struct {
	fs  *flag.FlagSet
	env envReader
	cfg Config
}

func newCommandLine(name, usage, summary string, stderr io.Writer, lookup func(string) (string, bool)) *commandLine {
	c := &commandLine{fs: flag.NewFlagSet("estateflow "+name, flag.ContinueOnError), env: envReader{lookup: lookup}}
	c.fs.SetOutput(stderr)
	c.fs.Usage = func() {
		fmt.Fprintf(c.fs.Output(), "Usage: estateflow %s\n\n%s\n", usage, summary)
		hasFlags := false
		c.fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if hasFlags {
			fmt.Fprint(c.fs.Output(), "\nFlags:\n")
			c.fs.PrintDefaults()
		}
	}
	return c
}

// databaseFlags are for every subcommand that opens the configured database.
func (c *commandLine) databaseFlags() {
	c.fs.StringVar(&c.cfg.DatabaseURL, "database-url", c.env.str("DATABASE_URL", database.DefaultURL),
		"postgres://… for PostgreSQL, otherwise a SQLite file path (env DATABASE_URL)")
	c.fs.IntVar(&c.cfg.DBMaxConns, "db-max-conns", c.env.int("ESTATEFLOW_DB_MAX_CONNS", 40),
		"PostgreSQL connections this process may open; replicas share the server's max_connections (env ESTATEFLOW_DB_MAX_CONNS)")
}

// demoFlag is for the subcommands that bootstrap a new database.
func (c *commandLine) demoFlag() {
	c.fs.BoolVar(&c.cfg.Demo, "demo", c.env.bool("ESTATEFLOW_DEMO", true),
		"fill a new, empty database with demo properties and clients (env ESTATEFLOW_DEMO)")
}

func (c *commandLine) logFlags() {
	c.fs.TextVar(&c.cfg.LogLevel, "log-level", c.env.level("ESTATEFLOW_LOG_LEVEL", slog.LevelInfo),
		"debug, info, warn or error (env ESTATEFLOW_LOG_LEVEL)")
	c.fs.BoolVar(&c.cfg.LogJSON, "log-json", c.env.bool("ESTATEFLOW_LOG_JSON", false), "log as JSON instead of text (env ESTATEFLOW_LOG_JSON)")
}

// serverFlags are serve's own: the listener, the APIs' limits and the engine.
func (c *commandLine) serverFlags() {
	fs, env, cfg := c.fs, &c.env, &c.cfg
	fs.StringVar(&cfg.Addr, "addr", env.str("ESTATEFLOW_ADDR", ":8080"), "address to listen on (env ESTATEFLOW_ADDR)")
	fs.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", env.int64("ESTATEFLOW_MAX_BODY_BYTES", 1<<20),
		"largest accepted GraphQL request body, in bytes (env ESTATEFLOW_MAX_BODY_BYTES)")
	cfg.AdminToken = env.str("ESTATEFLOW_ADMIN_TOKEN", "")
	fs.StringVar(&cfg.CORSOrigins, "cors-origins", env.str("ESTATEFLOW_CORS_ORIGINS", ""),
		"comma-separated browser origins allowed to call the API besides same-origin and localhost pages (env ESTATEFLOW_CORS_ORIGINS)")
	fs.BoolVar(&cfg.Introspection, "introspection", env.bool("ESTATEFLOW_INTROSPECTION", true),
		"answer GraphQL introspection queries (env ESTATEFLOW_INTROSPECTION)")
	fs.IntVar(&cfg.RateLimit, "rate-limit", env.int("ESTATEFLOW_RATE_LIMIT", 600),
		"requests a minute per token (env ESTATEFLOW_RATE_LIMIT)")
	fs.IntVar(&cfg.MaxConnections, "max-connections", env.int("ESTATEFLOW_MAX_CONNECTIONS", 20),
		"open websocket and SSE connections per token (env ESTATEFLOW_MAX_CONNECTIONS)")
	fs.IntVar(&cfg.MaxSubscriptions, "max-subscriptions", env.int("ESTATEFLOW_MAX_SUBSCRIPTIONS", 10),
		"subscriptions open at once on one websocket (env ESTATEFLOW_MAX_SUBSCRIPTIONS)")
	fs.IntVar(&cfg.MaxDepth, "max-depth", env.int("ESTATEFLOW_MAX_DEPTH", 15),
		"deepest field nesting a GraphQL operation may use (env ESTATEFLOW_MAX_DEPTH)")
	fs.IntVar(&cfg.MaxComplexity, "max-complexity", env.int("ESTATEFLOW_MAX_COMPLEXITY", 20000),
		"highest complexity a GraphQL operation may have; a connection counts its fields once per item asked for (env ESTATEFLOW_MAX_COMPLEXITY)")
	fs.IntVar(&cfg.MaxExpensive, "max-expensive-fields", env.int("ESTATEFLOW_MAX_EXPENSIVE_FIELDS", 10),
		"times a GraphQL operation may ask for fields marked @expensive, such as cma, counting aliases (env ESTATEFLOW_MAX_EXPENSIVE_FIELDS)")
	fs.DurationVar(&cfg.WSWriteTimeout, "ws-write-timeout", env.duration("ESTATEFLOW_WS_WRITE_TIMEOUT", 10*time.Second),
		"how long one write to a websocket or SSE stream may stall, or a websocket's pong may take (it is pinged this often), before the connection is closed (env ESTATEFLOW_WS_WRITE_TIMEOUT)")
	fs.IntVar(&cfg.Workers, "workers", env.int("ESTATEFLOW_WORKERS", 0),
		"steps executed at once; 0 means 16 per CPU (env ESTATEFLOW_WORKERS)")
	fs.DurationVar(&cfg.AdmissionMaxWait, "admission-max-wait", env.duration("ESTATEFLOW_ADMISSION_MAX_WAIT", 30*time.Second),
		"refuse new runs with RATE_LIMITED and a Retry-After while the runs in flight would take the workers longer than this to finish, except for organizations under their fair share; 0 admits every run (env ESTATEFLOW_ADMISSION_MAX_WAIT)")
	fs.DurationVar(&cfg.RetentionInterval, "retention-interval", env.duration("ESTATEFLOW_RETENTION_INTERVAL", time.Minute),
		"how often the organizations' event retention (eventRetentionDays) compacts the progress events of old runs (env ESTATEFLOW_RETENTION_INTERVAL)")
	fs.StringVar(&cfg.ReplicaID, "replica-id", env.str("ESTATEFLOW_REPLICA_ID", ""),
		"this process's name among the replicas sharing a PostgreSQL database (default: host name and process ID) (env ESTATEFLOW_REPLICA_ID)")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", env.str("ESTATEFLOW_METRICS_ADDR", ""),
		"serve Prometheus metrics at /metrics on this address only, with no authentication, instead of on -addr (env ESTATEFLOW_METRICS_ADDR); on -addr, /metrics asks for the bearer token in ESTATEFLOW_METRICS_TOKEN when that is set")
	fs.BoolVar(&cfg.Pprof, "pprof", env.bool("ESTATEFLOW_PPROF", false),
		"also serve Go's profiles at /debug/pprof/ on -metrics-addr, which it needs (env ESTATEFLOW_PPROF)")
	cfg.MetricsToken = env.str("ESTATEFLOW_METRICS_TOKEN", "")
	fs.StringVar(&cfg.PublicURL, "public-url", env.str("ESTATEFLOW_PUBLIC_URL", DefaultPublicURL),
		"the server's public address (https://… in production); unsubscribe links in emails are built on it (env ESTATEFLOW_PUBLIC_URL)")
	fs.BoolVar(&cfg.RiverListen, "river-listen", env.bool("ESTATEFLOW_RIVER_LISTEN", true),
		"on PostgreSQL, pick up step jobs as they are inserted (LISTEN) instead of by polling every 100ms (env ESTATEFLOW_RIVER_LISTEN)")
}

// parse fails on a malformed environment value first, then parses flags
// that may come before, between or after the positional arguments, which
// it returns in order.
func (c *commandLine) parse(args []string) ([]string, error) {
	if err := c.env.err(); err != nil {
		return nil, err
	}
	var positional []string
	for {
		if err := c.fs.Parse(args); err != nil {
			return nil, err
		}
		if c.fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, c.fs.Arg(0))
		args = c.fs.Args()[1:]
	}
}

// parseNone is parse for subcommands that take no positional argument.
func (c *commandLine) parseNone(args []string) error {
	positional, err := c.parse(args)
	if err != nil {
		return err
	}
	if len(positional) > 0 {
		c.fs.Usage()
		return fmt.Errorf("unexpected argument %q", positional[0])
	}
	return nil
}

// envReader reads flag defaults from the environment and collects every
// malformed value, so that a typo fails start-up instead of being silently
// replaced by the default.
type envReader struct {
	lookup func(string) (string, bool) // os.LookupEnv, except in tests
	errs   []error
}

func (e *envReader) get(key string) (string, bool) {
	v, ok := e.lookup(key)
	return v, ok && v != ""
}

func (e *envReader) str(key, fallback string) string {
	if v, ok := e.get(key); ok {
		return v
	}
	return fallback
}

func (e *envReader) bool(key string, fallback bool) bool {
	v, ok := e.get(key)
	if !ok {
		return fallback
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want true or false", key, v))
		return fallback
	}
	return b
}

func (e *envReader) int64(key string, fallback int64) int64 {
	v, ok := e.get(key)
	if !ok {
		return fallback
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want a whole number", key, v))
		return fallback
	}
	return n
}

func (e *envReader) int(key string, fallback int) int {
	return int(e.int64(key, int64(fallback)))
}

func (e *envReader) duration(key string, fallback time.Duration) time.Duration {
	v, ok := e.get(key)
	if !ok {
		return fallback
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want a positive duration such as 10s", key, v))
		return fallback
	}
	return d
}

func (e *envReader) level(key string, fallback slog.Level) slog.Level {
	v, ok := e.get(key)
	if !ok {
		return fallback
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want debug, info, warn or error", key, v))
		return fallback
	}
	return l
}

func (e *envReader) err() error { return errors.Join(e.errs...) }
