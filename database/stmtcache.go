package database

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
)

// stmtCacheSize bounds the prepared statements kept per connection. ent
// generates a few dozen distinct statements; bulk inserts add one per row
// count.
const stmtCacheSize = 256

// stmtCacheMaxSQL is the longest statement kept. Longer ones are bulk
// inserts of many rows, rarely repeated, whose prepared form is large (on
// SQLite, a program per row).
const stmtCacheMaxSQL = 16 << 10

// cachingConnector wraps a driver's connector so that every connection
// keeps its statements prepared.
//   - lib/pq otherwise parses each statement with arguments afresh, in an
//     extra round trip to the server: on the engine's short transactions
//     that is a third of the time. (pgx does the same by default; the
//     project is bound to lib/pq.)
//   - modernc's SQLite driver otherwise compiles each statement afresh:
//     a tenth of a real New Listing's CPU went to SQLite's parser and
//     planner.
type cachingConnector struct {
	driver.Connector
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newCachingConn(conn)
}

// stmtConn is what a driver's connection implements and the wrapper needs
// (and forwards, so that database/sql keeps using the context-aware paths).
type stmtConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.QueryerContext
	driver.ExecerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachingConn is used by one goroutine at a time, as database/sql
// guarantees for a driver.Conn, so it needs no lock.
type cachingConn struct {
	stmtConn
	stmts map[string]*list.Element // of *cachedStmt, most recent first
	lru   *list.List
}

// checkingConn is a cachingConn over a driver that checks its own
// argument types (lib/pq); SQLite's driver leaves that to database/sql.
type checkingConn struct {
	*cachingConn
	driver.NamedValueChecker
}

// cachedStmt is a prepared statement. While rows read from it are open it
// is busy: SQLite steps the statement itself as the rows are read, so a
// second use would reset the first, and closing it would free what the
// rows read. A busy statement is neither reused nor closed; an evicted one
// closes when its rows do.
type cachedStmt struct {
	query   string
	stmt    driver.Stmt
	busy    bool
	evicted bool
}

func newCachingConn(conn driver.Conn) (driver.Conn, error) {
	sc, ok := conn.(stmtConn)
	if !ok {
		conn.Close()
		return nil, errors.New("database: the driver lacks the interfaces the statement cache needs")
	}
	c := &cachingConn{stmtConn: sc, stmts: map[string]*list.Element{}, lru: list.New()}
	if nvc, ok := conn.(driver.NamedValueChecker); ok {
		return checkingConn{cachingConn: c, NamedValueChecker: nvc}, nil
	}
	return c, nil
}

// Unwrap returns the driver's own connection (modernc's sqlite.Limit looks
// through wrappers this way).
func (c *cachingConn) Unwrap() driver.Conn { return c.stmtConn }

// prepared returns the cached statement of query, preparing it if need be;
// nil when the statement is not to be cached or is busy.
func (c *cachingConn) prepared(ctx context.Context, query string) (*cachedStmt, error) {
	if len(query) > stmtCacheMaxSQL {
		return nil, nil
	}
	if el, ok := c.stmts[query]; ok {
		cs := el.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		c.lru.MoveToFront(el)
		return cs, nil
	}
	st, err := c.stmtConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{query: query, stmt: st}
	c.stmts[query] = c.lru.PushFront(cs)
	if c.lru.Len() > stmtCacheSize {
		c.evict(c.lru.Back())
	}
	return cs, nil
}

func (c *cachingConn) evict(el *list.Element) {
	cs := el.Value.(*cachedStmt)
	c.lru.Remove(el)
	delete(c.stmts, cs.query)
	cs.evicted = true
	if !cs.busy {
		_ = cs.stmt.Close()
	}
}

// forget drops a statement that failed, in case the failure was the
// statement's own (for example a plan invalidated by a schema change).
func (c *cachingConn) forget(cs *cachedStmt) {
	if el, ok := c.stmts[cs.query]; ok && el.Value == cs {
		c.evict(el)
	}
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) == 0 {
		return c.stmtConn.QueryContext(ctx, query, args)
	}
	cs, err := c.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.stmtConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.forget(cs)
		return nil, err
	}
	cs.busy = true
	return &stmtRows{Rows: rows, stmt: cs}, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) == 0 {
		return c.stmtConn.ExecContext(ctx, query, args)
	}
	cs, err := c.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.stmtConn.ExecContext(ctx, query, args)
	}
	res, err := cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
	if err != nil {
		c.forget(cs)
	}
	return res, err
}

func (c *cachingConn) Close() error {
	for el := c.lru.Front(); el != nil; el = el.Next() {
		// A busy statement closes when its rows do, as an evicted one.
		if cs := el.Value.(*cachedStmt); cs.busy {
			cs.evicted = true
		} else {
			_ = cs.stmt.Close()
		}
	}
	c.stmts, c.lru = nil, list.New()
	return c.stmtConn.Close()
}

// stmtRows are rows of a cached statement; closing them frees the
// statement for its next use.
type stmtRows struct {
	driver.Rows
	stmt *cachedStmt
}

func (r *stmtRows) Close() error {
	err := r.Rows.Close()
	if r.stmt != nil {
		cs := r.stmt
		r.stmt, cs.busy = nil, false
		if cs.evicted {
			_ = cs.stmt.Close()
		}
	}
	return err
}

// ColumnTypeDatabaseTypeName forwards the driver's column type names, for
// sql.Rows.ColumnTypes.
func (r *stmtRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}
