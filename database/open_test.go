package database_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/tenant"
)

func TestIsPostgres(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"postgres://u@host/db":            true,
		"postgresql://u@host/db":          true,
		"estateflow.db":                   false,
		"/var/lib/estateflow/data.db":     false,
		"file:x?mode=memory&cache=shared": false,
		"postgres.db":                     false,
		"mysql://u@host/db":               false,
		"":                                false,
	}
	for url, want := range tests {
		if got := database.IsPostgres(url); got != want {
			t.Errorf("IsPostgres(%q) = %v, want %v", url, got, want)
		}
	}
}

// sqlitePragmas reads, on one connection, the pragmas Open promises.
type sqlitePragmas struct {
	foreignKeys, busyTimeout, synchronous int
	journalMode                           string
}

func readPragmas(ctx context.Context, conn *sql.Conn) (p sqlitePragmas, err error) {
	for pragma, dest := range map[string]any{
		"foreign_keys": &p.foreignKeys, "busy_timeout": &p.busyTimeout,
		"synchronous": &p.synchronous, "journal_mode": &p.journalMode,
	} {
		if err := conn.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(dest); err != nil {
			return p, fmt.Errorf("PRAGMA %s: %w", pragma, err)
		}
	}
	return p, nil
}

func TestOpenSQLiteSetsPragmasOnEveryConnection(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := sqlitePragmas{foreignKeys: 1, busyTimeout: 10000, synchronous: 1, journalMode: "wal"} // synchronous 1 is NORMAL
	tests := []struct {
		name string
		url  string
		want sqlitePragmas
	}{
		{"path", filepath.Join(dir, "path.db"), file},
		{"file URI", "file:" + filepath.Join(dir, "uri.db"), file},
		{"file URI with parameters", "file:" + filepath.Join(dir, "params.db") + "?cache=private", file},
		// WAL needs a file; an in-memory database keeps its own journal.
		{"in memory", "file:pragmas_" + strings.ReplaceAll(t.Name(), "/", "_") + "?mode=memory&cache=shared",
			sqlitePragmas{foreignKeys: 1, busyTimeout: 10000, synchronous: 2, journalMode: "memory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, err := database.Open(ctx, tt.url, database.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if db.Dialect != dialect.SQLite {
				t.Fatalf("dialect %q", db.Dialect)
			}
			// Hold several connections at once, so that each is a new one.
			const conns = 3
			held := make([]*sql.Conn, conns)
			for i := range held {
				if held[i], err = db.SQL.Conn(ctx); err != nil {
					t.Fatal(err)
				}
				defer held[i].Close()
			}
			for i, conn := range held {
				got, err := readPragmas(ctx, conn)
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Errorf("connection %d: pragmas %+v, want %+v", i, got, tt.want)
				}
			}
		})
	}
}

func TestOpenSQLiteEnforcesForeignKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := database.Open(ctx, filepath.Join(t.TempDir(), "fk.db"), database.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// The system context passes the privacy rules, so only the database
	// stands between this step and a package that does not exist.
	org, err := db.Client.Organization.Create().SetName("o").SetSlug("o").Save(tenant.SystemContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Client.PackageStep.Create().SetOrganizationID(org.ID).SetPackageID(987654).
		SetKey("k").SetName("n").SetKind(stepkind.CMAAnalysis).SetPosition(0).
		Exec(tenant.SystemContext(ctx))
	if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Fatalf("step of a missing package: %v, want a FOREIGN KEY failure", err)
	}
}

// A SQLite transaction that reads before it writes takes the write lock
// when it begins: with deferred transactions the second of two such
// transactions would fail on its stale snapshot instead of waiting.
func TestOpenSQLiteTransactionsTakeTheWriteLockUpFront(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := database.Open(ctx, filepath.Join(t.TempDir(), "tx.db"), database.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.SQL.ExecContext(ctx, "CREATE TABLE counter (n INTEGER NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL.ExecContext(ctx, "INSERT INTO counter VALUES (0)"); err != nil {
		t.Fatal(err)
	}
	increment := func(tx *sql.Tx, between func()) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT n FROM counter").Scan(&n); err != nil {
			return err
		}
		between()
		if _, err := tx.ExecContext(ctx, "UPDATE counter SET n = ?", n+1); err != nil {
			return err
		}
		return tx.Commit()
	}

	first, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	secondRead, firstDone := make(chan struct{}), make(chan struct{})
	secondErr := make(chan error, 1)
	go func() {
		second, err := db.SQL.BeginTx(ctx, nil) // waits for first, under the busy timeout
		if err != nil {
			secondErr <- err
			return
		}
		err = increment(second, func() {
			close(secondRead)
			<-firstDone
		})
		if err != nil {
			_ = second.Rollback()
		}
		secondErr <- err
	}()
	// Let the second transaction read first if it can; an immediate one
	// cannot, being blocked in BEGIN.
	if err := increment(first, func() {
		select {
		case <-secondRead:
		case <-time.After(300 * time.Millisecond):
		}
	}); err != nil {
		t.Fatal(err)
	}
	close(firstDone)
	if err := <-secondErr; err != nil {
		t.Fatalf("the second read-then-write transaction: %v", err)
	}
	var n int
	if err := db.SQL.QueryRowContext(ctx, "SELECT n FROM counter").Scan(&n); err != nil || n != 2 {
		t.Fatalf("counter %d (%v), want 2: an increment was lost", n, err)
	}
}

func TestOpenWithoutURLUsesTheDefaultSQLiteFile(t *testing.T) {
	t.Chdir(t.TempDir())
	ctx := context.Background()
	db, err := database.Open(ctx, "", database.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.Dialect != dialect.SQLite {
		t.Fatalf("dialect %q", db.Dialect)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(database.DefaultURL); err != nil {
		t.Fatalf("default database file: %v", err)
	}
}

func TestOpenKeepsThePasswordOutOfErrors(t *testing.T) {
	t.Parallel()
	const password = "hunter2-s3cret"
	tests := []struct {
		name string
		url  string
		bug  string // set while the case fails
	}{
		{"unreachable server", "postgres://estateflow:" + password + "@127.0.0.1:1/db?connect_timeout=2&sslmode=disable", ""},
		{"malformed URL", "postgres://estateflow:" + password + "@db.internal:port/db", ""},
		{"bad parameter", "postgresql://estateflow:" + password + "@127.0.0.1/db?sslmode=sometimes", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.bug != "" {
				t.Skip(tt.bug)
			}
			db, err := database.Open(context.Background(), tt.url, database.Options{})
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if strings.Contains(err.Error(), password) {
				t.Fatalf("error carries the password: %v", err)
			}
		})
	}
}

// Options.Driver sees every statement, those of ClientOnTx's clients too.
func TestOpenDriverOptionWrapsEveryClient(t *testing.T) {
	t.Parallel()
	var statements atomic.Int64
	count := func(d dialect.Driver) dialect.Driver {
		return dialect.DebugWithContext(d, func(context.Context, ...any) { statements.Add(1) })
	}
	ctx := context.Background()
	db, err := database.Open(ctx, filepath.Join(t.TempDir(), "wrap.db"), database.Options{Driver: count})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	sys := tenant.SystemContext(ctx)

	before := statements.Load()
	if _, err := db.Client.Organization.Query().Count(sys); err != nil {
		t.Fatal(err)
	}
	if statements.Load() == before {
		t.Fatal("the client's query did not go through Options.Driver")
	}

	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	before = statements.Load()
	if _, err := db.ClientOnTx(tx).Organization.Query().Count(sys); err != nil {
		t.Fatal(err)
	}
	if statements.Load() == before {
		t.Fatal("ClientOnTx's query did not go through Options.Driver")
	}
}
