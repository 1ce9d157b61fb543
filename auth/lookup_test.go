package auth_test

import (
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/internal/testdb"
)

// TestTokenLookupsDoNotWaitForTheMainPool holds every connection of the
// main pool, as a burst of engine and subscription work does: a request is
// still authenticated at once, on the lookup pool. Without it the lookup
// waited for a main-pool connection until its timeout and the client was
// told the database was unavailable.
func TestTokenLookupsDoNotWaitForTheMainPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t, database.Options{MaxConns: 2})
	a := auth.New(db.Client)
	a.Lookups = db.Lookups
	a.LookupTimeout = 2 * time.Second
	secret, err := a.EnsureAdminToken(ctx, "acme", "")
	if err != nil {
		t.Fatal(err)
	}
	holdMainPool(t, db.SQL)

	status, body := authenticatedRequest(t, a, secret)
	if status != http.StatusOK {
		t.Fatalf("with the main pool in use: %d %s; want 200", status, body)
	}
}

// TestBusyLookupPoolIsRefusedAsBusy: when no lookup connection frees up
// within the timeout, the client is told the server is busy (503
// UNAVAILABLE with Retry-After), not that the database is down, and not
// that its token is bad.
func TestBusyLookupPoolIsRefusedAsBusy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t, database.Options{})
	a := auth.New(db.Client)
	a.Lookups = db.Lookups
	a.LookupTimeout = 200 * time.Millisecond
	secret, err := a.EnsureAdminToken(ctx, "acme", "")
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for {
		waitCtx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		release, err := db.Lookups.Acquire(waitCtx)
		cancel()
		if err != nil {
			break
		}
		held++
		t.Cleanup(release)
	}
	if held == 0 {
		t.Fatal("no lookup slot could be taken")
	}

	status, body := authenticatedRequest(t, a, secret)
	if status != http.StatusServiceUnavailable || !strings.Contains(body, string(errcode.Unavailable)) ||
		!strings.Contains(body, "busy") || strings.Contains(body, "database") {
		t.Fatalf("with every lookup slot held: %d %s; want 503 UNAVAILABLE saying the server is busy", status, body)
	}
}

// holdMainPool takes every connection the main pool may open until the
// test ends.
func holdMainPool(t *testing.T, db *sql.DB) {
	t.Helper()
	n := db.Stats().MaxOpenConnections
	if n <= 0 {
		t.Fatal("the main pool is unbounded; nothing to saturate")
	}
	for range n {
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
	}
}

// authenticatedRequest sends one request with secret through a's middleware.
func authenticatedRequest(t *testing.T, a *auth.Authenticator, secret string) (int, string) {
	t.Helper()
	srv := httptest.NewServer(a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	})))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}
	return resp.StatusCode, string(body)
}
