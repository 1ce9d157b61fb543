package database

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/lib/pq"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"
	"modernc.org/sqlite" // the pure-Go SQLite driver

	"github.com/estateflow/estateflow/ent"
	// Installs the schema's defaults, validators, hooks and privacy
	// policies; without it every query fails with an uninitialized policy.
	_ "github.com/estateflow/estateflow/ent/runtime"
	"github.com/estateflow/estateflow/tenant"
)

// DefaultURL is the embedded database used when DATABASE_URL is not set: a
// SQLite file in the working directory.
const DefaultURL = "estateflow.db"

// DB is an open database.
type DB struct {
	Client  *ent.Client
	SQL     *sql.DB
	Dialect string // dialect.SQLite or dialect.Postgres
	// Lookups is the pool of its own for token lookups (see LookupPool).
	Lookups *LookupPool
	wrap    func(dialect.Driver) dialect.Driver // Options.Driver, for ClientOnTx too
	// appends is the write hook's knowledge of the mutation types, shared
	// by every client over this database: ClientOnTx makes one per
	// transaction, and finding it by reflection each time cost River's
	// transactions a tenth of their CPU.
	appends *appendedLists
}

// Options tune Open.
type Options struct {
	// Driver wraps the ent driver, for example to count queries in tests.
	Driver func(dialect.Driver) dialect.Driver
	// MaxConns bounds the PostgreSQL connections this process opens
	// (default 40). Replicas, and test packages running side by side,
	// share the server's max_connections.
	MaxConns int
}

// Open connects to the database that rawURL names:
//   - postgres://… or postgresql://… uses PostgreSQL through lib/pq;
//   - anything else is a SQLite file path, or a "file:" URI (for example
//     file:name?mode=memory&cache=shared for an in-memory database).
//
// The returned client scopes every query to the viewer in its context (see
// package tenant).
func Open(ctx context.Context, rawURL string, opts Options) (*DB, error) {
	if rawURL == "" {
		rawURL = DefaultURL
	}
	var (
		db   *sql.DB
		name string
		err  error
	)
	if IsPostgres(rawURL) {
		name = dialect.Postgres
		var connector *pq.Connector
		if connector, err = pq.NewConnector(rawURL); err == nil {
			db = sql.OpenDB(cachingConnector{connector})
			// Idle connections are kept, not closed: each holds its
			// prepared statements (see cachingConnector).
			maxConns := opts.MaxConns
			if maxConns <= 0 {
				maxConns = 40
			}
			db.SetMaxOpenConns(maxConns)
			db.SetMaxIdleConns(maxConns)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
	} else {
		name = dialect.SQLite
		db, err = openSQLite(sqliteDSN(rawURL))
		if err == nil {
			// One writer at a time is all SQLite allows; a few readers
			// beside it is all a 2-core machine can use.
			db.SetMaxOpenConns(8)
		}
	}
	if err != nil {
		// A URL the driver cannot parse is quoted whole in its error.
		return nil, fmt.Errorf("opening %s database: %w", name, redact(err, rawURL))
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connecting to %s database: %w", name, redact(err, rawURL))
	}
	var drv dialect.Driver = entsql.OpenDB(name, db)
	if opts.Driver != nil {
		drv = opts.Driver(drv)
	}
	appends := &appendedLists{}
	d := &DB{Client: newClient(drv, appends), SQL: db, Dialect: name, wrap: opts.Driver, appends: appends}
	if d.Lookups, err = openLookupPool(name, rawURL, d, opts); err != nil {
		d.Client.Close()
		return nil, fmt.Errorf("opening %s database: %w", name, redact(err, rawURL))
	}
	return d, nil
}

// newClient is an ent client over drv with EstateFlow's client-level hooks;
// the schema's own hooks and privacy policies apply to every client.
func newClient(drv dialect.Driver, appends *appendedLists) *ent.Client {
	client := ent.NewClient(ent.Driver(drv))
	orderSteps(client)
	rejectInvalidValues(client, appends)
	return client
}

// ClientOnTx returns an ent client whose every statement runs in tx, so
// that other code sharing tx (River's job inserts) commits with it.
func (d *DB) ClientOnTx(tx *sql.Tx) *ent.Client {
	var drv dialect.Driver = txBoundDriver{entsql.NewDriver(d.Dialect, entsql.Conn{ExecQuerier: tx})}
	if d.wrap != nil {
		drv = d.wrap(drv)
	}
	return newClient(drv, d.appends)
}

// txBoundDriver is a driver whose every statement runs in a transaction
// someone else opened. ent opens a transaction of its own for some writes
// (UpdateOne, creates with edges); here that is the outer transaction,
// which only its owner commits or rolls back. The embedded *entsql.Driver
// keeps ExecContext and QueryContext, which the privacy rules use.
type txBoundDriver struct{ *entsql.Driver }

// Tx returns the outer transaction, with no-op Commit and Rollback.
func (d txBoundDriver) Tx(context.Context) (dialect.Tx, error) { return dialect.NopTx(d), nil }

// OnTx reports that every statement runs in a transaction opened outside
// ent (tests that fail statements outside transactions ask).
func (d txBoundDriver) OnTx() bool { return true }

// BeginTx is Tx.
func (d txBoundDriver) BeginTx(ctx context.Context, _ *sql.TxOptions) (dialect.Tx, error) {
	return d.Tx(ctx)
}

var migrateMu sync.Mutex

// Migrate brings the schema up to date. It is safe to run on every start and
// from several replicas at once on PostgreSQL, where an advisory lock
// serializes them.
func (d *DB) Migrate(ctx context.Context) error {
	ctx = tenant.SystemContext(ctx)
	if d.Dialect == dialect.Postgres {
		conn, err := d.SQL.Conn(ctx)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		defer conn.Close()
		const lockID = 0x45737461746546 // "EstateF"
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", lockID); err != nil {
			return fmt.Errorf("migrate: taking advisory lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lockID) //nolint:errcheck // released with the session anyway
	}
	// ent's migrator annotates the generated table descriptions, which are
	// package-level values shared by every client, so two migrations in one
	// process (parallel tests) must not overlap.
	migrateMu.Lock()
	defer migrateMu.Unlock()
	if err := d.Client.Schema.Create(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := backfillUnsubscribeKeys(ctx, d.Client); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := installRunCounters(ctx, d.SQL, d.Dialect); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if d.Dialect == dialect.Postgres {
		// River's tables, under the same advisory lock: River's migrator
		// takes none of its own.
		migrator, err := rivermigrate.New(riverdatabasesql.New(d.SQL), nil)
		if err != nil {
			return fmt.Errorf("migrate: River: %w", err)
		}
		if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("migrate: River: %w", err)
		}
	}
	return nil
}

// Close closes the clients and their connections.
func (d *DB) Close() error {
	lookupErr := d.Lookups.close()
	if err := d.Client.Close(); err != nil {
		return err
	}
	return lookupErr
}

// IsPostgres reports whether rawURL names a PostgreSQL database.
func IsPostgres(rawURL string) bool {
	return strings.HasPrefix(rawURL, "postgres://") || strings.HasPrefix(rawURL, "postgresql://")
}

// openSQLite opens a SQLite database whose connections keep their
// statements prepared (see cachingConnector).
func openSQLite(dsn string) (*sql.DB, error) {
	connector, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(cachingConnector{connector}), nil
}

// sqliteDSN adds the pragmas EstateFlow relies on: foreign keys (off by
// default in SQLite), WAL and a busy timeout so that readers and the writer
// wait for each other instead of failing, and immediate transactions so that
// a transaction that reads before it writes cannot deadlock on the upgrade.
func sqliteDSN(path string) string {
	dsn := path
	if !strings.HasPrefix(dsn, "file:") {
		dsn = "file:" + dsn
	}
	memory := strings.Contains(dsn, "mode=memory")
	params := []string{"_pragma=foreign_keys(1)", "_pragma=busy_timeout(10000)", "_txlock=immediate"}
	if !memory {
		params = append(params, "_pragma=journal_mode(WAL)", "_pragma=synchronous(NORMAL)")
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + strings.Join(params, "&")
}

// passwordInURL finds the password of scheme://user:password@host.
var passwordInURL = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@]*:([^@]+)@`)

// redact keeps a password in the URL out of error messages and logs. It
// finds the password without url.Parse too, because the URLs whose errors
// need redacting most are the ones that do not parse.
func redact(err error, rawURL string) error {
	pw := ""
	if u, perr := url.Parse(rawURL); perr == nil && u.User != nil {
		pw, _ = u.User.Password()
	} else if m := passwordInURL.FindStringSubmatch(rawURL); m != nil {
		pw = m[1]
	}
	if pw == "" {
		return err
	}
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), pw, "***"))
}
