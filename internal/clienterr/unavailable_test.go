package clienterr

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/estateflow/estateflow/internal/errcode"
)

func TestIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, refused := net.DialTimeout("tcp", addr, time.Second)
	if refused == nil {
		t.Skip("a closed port accepted a connection")
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused, as lib/pq returns it", fmt.Errorf("auth: looking up token: %w", refused), true},
		{"bad connection", fmt.Errorf("query: %w", driver.ErrBadConn), true},
		{"connection done", sql.ErrConnDone, true},
		{"PostgreSQL connection failure (08006)", &pq.Error{Code: "08006"}, true},
		{"PostgreSQL shutting down (57P01)", fmt.Errorf("x: %w", &pq.Error{Code: "57P01"}), true},
		{"PostgreSQL starting up (57P03)", &pq.Error{Code: "57P03"}, true},
		{"PostgreSQL unique violation", &pq.Error{Code: "23505"}, false},
		{"PostgreSQL query canceled", &pq.Error{Code: "57014"}, false},
		{"SQLite busy", sqliteBusy(t), false},
		{"deadline", fmt.Errorf("ping: %w", context.DeadlineExceeded), false},
		{"dial abandoned with the request", &net.OpError{Op: "dial", Net: "tcp", Err: context.Canceled}, false},
		{"anything else", errors.New("boom"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsUnavailable(tt.err); got != tt.want {
				t.Fatalf("IsUnavailable(%v) = %v, want %v", tt.err, got, tt.want)
			}
			if tt.want {
				if ref, ok := Classify(tt.err); !ok || ref.Code != errcode.Unavailable {
					t.Fatalf("Classify = %+v, %v; want UNAVAILABLE", ref, ok)
				}
			}
		})
	}
}

// sqliteBusy returns the real error of a write refused because another
// connection holds SQLite's write lock: "database is locked", which is a
// request to retry, not an outage.
func sqliteBusy(t *testing.T) error {
	t.Helper()
	dsn := "file:" + filepath.Join(t.TempDir(), "busy.db") + "?_pragma=busy_timeout(0)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	holder, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer holder.ExecContext(ctx, "ROLLBACK")
	other, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, err = other.ExecContext(ctx, "INSERT INTO t VALUES (1)")
	if err == nil {
		t.Fatal("a second writer got SQLite's write lock")
	}
	return err
}
