// Package testdb gives each test a real, empty, migrated database: a SQLite
// file in the test's temp dir, or, when TEST_DATABASE_URL is set, a fresh
// PostgreSQL schema that is dropped when the test ends. Separate schemas let
// test packages run in parallel against one server.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/estateflow/estateflow/database"
)

// EnvURL names the variable that switches tests to PostgreSQL.
const EnvURL = "TEST_DATABASE_URL"

// Open returns a migrated database for t, closed when t ends.
func Open(t testing.TB, opts database.Options) *database.DB {
	t.Helper()
	db, _ := OpenURL(t, opts)
	return db
}

// OpenURL is Open that also returns the database's address, for tests that
// open more connections to it.
func OpenURL(t testing.TB, opts database.Options) (*database.DB, string) {
	t.Helper()
	ctx := context.Background()
	rawURL := URL(t)
	if opts.MaxConns == 0 {
		// Test packages run side by side on one server, each test with its
		// own pool, River client and listeners: stay well inside
		// max_connections.
		opts.MaxConns = 8
	}
	db, err := database.Open(ctx, rawURL, opts)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return db, rawURL
}

// URL returns the address of a new, empty database for t, which is dropped
// when t ends.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		return filepath.Join(t.TempDir(), "test.db")
	}
	schema := "t_" + randomHex(8)
	admin, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		t.Fatalf("testdb: creating schema: %v", err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("testdb: dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("testdb: %s is not a URL: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
