package clienterr

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"
	"strings"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// UnavailableMessage is what a client is told when the database cannot be
// reached.
const UnavailableMessage = "the database is unavailable; retry later"

// IsUnavailable reports whether err says the database cannot be reached (it
// is down, restarting, refusing connections or the network to it failed),
// as opposed to refusing this one statement. Clients are told UNAVAILABLE,
// and retry, rather than INTERNAL or, worse, UNAUTHENTICATED.
//
// It recognises what the drivers return for a lost or refused connection:
//   - database/sql's driver.ErrBadConn and sql.ErrConnDone;
//   - a network error (*net.OpError, a refused or reset connection), as
//     lib/pq returns when dialling fails;
//   - PostgreSQL's SQLSTATE class 08 (connection exception), 57P01..57P03
//     (the server is shutting down, crashed, or not yet accepting
//     connections) and 53300 (too many connections);
//   - SQLite's I/O errors and a file it cannot open.
//
// It deliberately does not count SQLite's "database is locked" (SQLITE_BUSY,
// a writer held the lock past busy_timeout) nor a context deadline: both are
// about this request, not about the database being down.
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// A dial abandoned because the request ended is a *net.OpError too.
		return false
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return true
	}
	// lib/pq and pgx both expose the SQLSTATE this way.
	var pgErr interface{ SQLState() string }
	if errors.As(err, &pgErr) {
		state := pgErr.SQLState()
		return strings.HasPrefix(state, "08") || state == "57P01" || state == "57P02" || state == "57P03" || state == "53300"
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			return true
		}
	}
	return false
}
