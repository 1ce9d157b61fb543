package database

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// sqliteConn is one connection of a fresh SQLite file opened as Open opens
// it, with a table of n numbered rows.
func sqliteConn(t *testing.T, n int) *sql.Conn {
	t.Helper()
	db, err := openSQLite(sqliteDSN(filepath.Join(t.TempDir(), "cache.db")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := conn.ExecContext(ctx, "CREATE TABLE nums (n INTEGER PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if _, err := conn.ExecContext(ctx, "INSERT INTO nums (n) VALUES (?)", i); err != nil {
			t.Fatal(err)
		}
	}
	return conn
}

// cacheOf runs fn on the connection's statement cache.
func cacheOf(t *testing.T, conn *sql.Conn, fn func(c *cachingConn)) {
	t.Helper()
	if err := conn.Raw(func(dc any) error {
		c, ok := dc.(*cachingConn)
		if !ok {
			return fmt.Errorf("the connection is a %T, not a *cachingConn", dc)
		}
		fn(c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// readNums reads the rows of "n > ?" into a slice, calling during after
// the first row, while the rows are open.
func readNums(t *testing.T, conn *sql.Conn, above int, during func()) []int {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), "SELECT n FROM nums WHERE n > ? ORDER BY n", above)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
		if len(out) == 1 && during != nil {
			during()
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSQLiteStatementCache(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		run  func(t *testing.T, conn *sql.Conn)
	}{
		{"a statement is prepared once and reused", func(t *testing.T, conn *sql.Conn) {
			var first any
			for i := range 3 {
				if got := readNums(t, conn, 3, nil); len(got) != 2 {
					t.Fatalf("read %v", got)
				}
				cacheOf(t, conn, func(c *cachingConn) {
					el, ok := c.stmts["SELECT n FROM nums WHERE n > ? ORDER BY n"]
					if !ok {
						t.Fatal("the statement was not kept")
					}
					if cs := el.Value.(*cachedStmt); i == 0 {
						first = cs.stmt
					} else if cs.stmt != first {
						t.Fatal("the statement was prepared again")
					}
				})
			}
		}},
		{"a statement in use is not reused under its rows", func(t *testing.T, conn *sql.Conn) {
			var inner []int
			outer := readNums(t, conn, 0, func() { inner = readNums(t, conn, 3, nil) })
			if fmt.Sprint(outer) != "[1 2 3 4 5]" || fmt.Sprint(inner) != "[4 5]" {
				t.Fatalf("outer %v, inner %v", outer, inner)
			}
		}},
		{"a statement evicted under its rows closes after them", func(t *testing.T, conn *sql.Conn) {
			outer := readNums(t, conn, 0, func() {
				for i := range stmtCacheSize + 1 {
					var n int
					if err := conn.QueryRowContext(ctx, fmt.Sprintf("SELECT ? + %d", i), 1).Scan(&n); err != nil || n != i+1 {
						t.Fatalf("query %d: %d, %v", i, n, err)
					}
				}
				cacheOf(t, conn, func(c *cachingConn) {
					if _, ok := c.stmts["SELECT n FROM nums WHERE n > ? ORDER BY n"]; ok {
						t.Fatal("the least recently used statement was kept")
					}
				})
			})
			if fmt.Sprint(outer) != "[1 2 3 4 5]" {
				t.Fatalf("read %v after the eviction", outer)
			}
			cacheOf(t, conn, func(c *cachingConn) {
				if c.lru.Len() != stmtCacheSize || len(c.stmts) != stmtCacheSize {
					t.Fatalf("%d statements kept (%d in the index), want %d", c.lru.Len(), len(c.stmts), stmtCacheSize)
				}
			})
		}},
		{"a bulk statement is not kept", func(t *testing.T, conn *sql.Conn) {
			query := "SELECT count(*) FROM nums WHERE n IN (?" + strings.Repeat(", ?", stmtCacheMaxSQL/3) + ")"
			args := make([]any, stmtCacheMaxSQL/3+1)
			for i := range args {
				args[i] = i
			}
			var n int
			if err := conn.QueryRowContext(ctx, query, args...).Scan(&n); err != nil || n != 5 {
				t.Fatalf("count %d, %v", n, err)
			}
			cacheOf(t, conn, func(c *cachingConn) {
				if _, ok := c.stmts[query]; ok {
					t.Fatal("a statement longer than stmtCacheMaxSQL was kept")
				}
			})
		}},
		{"a failed statement is dropped", func(t *testing.T, conn *sql.Conn) {
			const insert = "INSERT INTO nums (n) VALUES (?)"
			if _, err := conn.ExecContext(ctx, insert, 1); err == nil {
				t.Fatal("a duplicate key was inserted")
			}
			cacheOf(t, conn, func(c *cachingConn) {
				if _, ok := c.stmts[insert]; ok {
					t.Fatal("the failed statement was kept")
				}
			})
			if _, err := conn.ExecContext(ctx, insert, 6); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, sqliteConn(t, 5))
		})
	}
}
