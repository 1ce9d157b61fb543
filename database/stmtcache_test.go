package database_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/internal/testdb"
)

// stmtCacheSize is the bound database keeps per connection.
const stmtCacheSize = 256

// pinnedPostgresConn is one PostgreSQL connection of a fresh database; the
// statement cache is per connection.
func pinnedPostgresConn(t *testing.T) *sql.Conn {
	t.Helper()
	if os.Getenv(testdb.EnvURL) == "" {
		t.Skip("the statement cache wraps the PostgreSQL driver; set " + testdb.EnvURL)
	}
	db := testdb.Open(t, database.Options{})
	conn, err := db.SQL.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// preparedStatements lists the session's prepared statements (a query
// without arguments is not prepared, so this one does not count itself).
func preparedStatements(t *testing.T, conn *sql.Conn) []string {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), "SELECT statement FROM pg_prepared_statements ORDER BY statement")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStatementCachePreparesEachStatementOnce(t *testing.T) {
	t.Parallel()
	conn := pinnedPostgresConn(t)
	ctx := context.Background()
	base := preparedStatements(t, conn)

	const sum = "SELECT $1::int + 1"
	for i := range 5 {
		var n int
		if err := conn.QueryRowContext(ctx, sum, i).Scan(&n); err != nil || n != i+1 {
			t.Fatalf("%s with %d: %d, %v", sum, i, n, err)
		}
	}
	if _, err := conn.ExecContext(ctx, sum, 7); err != nil { // Exec shares Query's statement
		t.Fatal(err)
	}
	if got := preparedStatements(t, conn); len(got) != len(base)+1 || !slices.Contains(got, sum) {
		t.Fatalf("prepared %q, want %q once more than %q", got, sum, base)
	}
	if _, err := conn.ExecContext(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	if got := preparedStatements(t, conn); len(got) != len(base)+1 {
		t.Fatalf("a statement without arguments was prepared: %q", got)
	}
}

func TestStatementCacheIsBoundedAndEvictsTheLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	conn := pinnedPostgresConn(t)
	ctx := context.Background()
	// Statements the connection prepared before (the migration's) are
	// older than this test's, so they go first.
	query := func(i int) string { return fmt.Sprintf("SELECT $1::int + %d", i) }
	run := func(i int) {
		t.Helper()
		var n int
		if err := conn.QueryRowContext(ctx, query(i), 1).Scan(&n); err != nil || n != i+1 {
			t.Fatalf("%s: %d, %v", query(i), n, err)
		}
	}
	isCached := func(prepared []string, i int) bool { return slices.Contains(prepared, query(i)) }
	const total = stmtCacheSize + 44
	for i := range total {
		run(i)
	}
	prepared := preparedStatements(t, conn)
	if len(prepared) > stmtCacheSize {
		t.Fatalf("%d statements prepared on one connection, want at most %d", len(prepared), stmtCacheSize)
	}
	for i := range total {
		if want := i >= total-stmtCacheSize; isCached(prepared, i) != want {
			t.Fatalf("statement %d cached: %v, want %v", i, !want, want)
		}
	}

	oldest := total - stmtCacheSize
	run(oldest + 1) // used again: now the most recent
	run(0)          // prepared again, evicting the least recently used
	prepared = preparedStatements(t, conn)
	for i, want := range map[int]bool{0: true, oldest: false, oldest + 1: true, oldest + 2: true, total - 1: true} {
		if isCached(prepared, i) != want {
			t.Errorf("statement %d cached: %v, want %v", i, !want, want)
		}
	}
	if len(prepared) > stmtCacheSize {
		t.Errorf("%d statements prepared, want at most %d", len(prepared), stmtCacheSize)
	}
}

// A statement whose plan a schema change invalidated fails once, and is
// prepared afresh the next time instead of failing for the connection's
// life.
func TestStatementCacheForgetsAFailedStatement(t *testing.T) {
	t.Parallel()
	conn := pinnedPostgresConn(t)
	ctx := context.Background()
	for _, stmt := range []string{"CREATE TABLE cache_probe (a int)", "INSERT INTO cache_probe VALUES (1)"} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	const probe = "SELECT * FROM cache_probe WHERE a = $1"
	columns := func() (int, error) {
		rows, err := conn.QueryContext(ctx, probe, 1)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		cols, err := rows.Columns()
		return len(cols), err
	}
	if n, err := columns(); err != nil || n != 1 {
		t.Fatalf("before the change: %d columns, %v", n, err)
	}
	if _, err := conn.ExecContext(ctx, "ALTER TABLE cache_probe ADD COLUMN b int"); err != nil {
		t.Fatal(err)
	}
	first, firstErr := columns()
	t.Logf("first query after the change: %d columns, %v", first, firstErr)
	if n, err := columns(); err != nil || n != 2 {
		t.Fatalf("second query after the change: %d columns, %v; want 2 columns", n, err)
	}
}
