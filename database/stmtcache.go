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

// cachingConnector wraps lib/pq's connector so that every connection keeps
// its statements prepared. lib/pq otherwise parses each statement with
// arguments afresh, in an extra round trip to the server: on the engine's
// short transactions that is a third of the time. (pgx does the same by
// default; the project is bound to lib/pq.)
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

// stmtConn is what lib/pq's connection implements and the wrapper needs.
type stmtConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.QueryerContext
	driver.ExecerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
	driver.NamedValueChecker
}

// cachingConn is used by one goroutine at a time, as database/sql
// guarantees for a driver.Conn, so it needs no lock.
type cachingConn struct {
	stmtConn
	stmts map[string]*list.Element // of *cachedStmt, most recent first
	lru   *list.List
}

type cachedStmt struct {
	query string
	stmt  driver.Stmt
}

func newCachingConn(conn driver.Conn) (driver.Conn, error) {
	sc, ok := conn.(stmtConn)
	if !ok {
		conn.Close()
		return nil, errors.New("database: the PostgreSQL driver lacks the interfaces the statement cache needs")
	}
	return &cachingConn{stmtConn: sc, stmts: map[string]*list.Element{}, lru: list.New()}, nil
}

func (c *cachingConn) prepared(ctx context.Context, query string) (driver.Stmt, error) {
	if el, ok := c.stmts[query]; ok {
		c.lru.MoveToFront(el)
		return el.Value.(*cachedStmt).stmt, nil
	}
	st, err := c.stmtConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[query] = c.lru.PushFront(&cachedStmt{query: query, stmt: st})
	if c.lru.Len() > stmtCacheSize {
		c.evict(c.lru.Back())
	}
	return st, nil
}

func (c *cachingConn) evict(el *list.Element) {
	cs := el.Value.(*cachedStmt)
	c.lru.Remove(el)
	delete(c.stmts, cs.query)
	_ = cs.stmt.Close()
}

// forget drops a statement that failed, in case the failure was the
// statement's own (for example a plan invalidated by a schema change).
func (c *cachingConn) forget(query string) {
	if el, ok := c.stmts[query]; ok {
		c.evict(el)
	}
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) == 0 {
		return c.stmtConn.QueryContext(ctx, query, args)
	}
	st, err := c.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.forget(query)
	}
	return rows, err
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) == 0 {
		return c.stmtConn.ExecContext(ctx, query, args)
	}
	st, err := c.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := st.(driver.StmtExecContext).ExecContext(ctx, args)
	if err != nil {
		c.forget(query)
	}
	return res, err
}

func (c *cachingConn) Close() error {
	for el := c.lru.Front(); el != nil; el = el.Next() {
		_ = el.Value.(*cachedStmt).stmt.Close()
	}
	c.stmts, c.lru = nil, list.New()
	return c.stmtConn.Close()
}
