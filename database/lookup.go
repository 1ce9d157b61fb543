package database

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/lib/pq"

	"github.com/estateflow/estateflow/ent"
)

// LookupPool is a small pool of connections of its own for the short reads
// that every request waits on before it can start: the token lookup. In the
// main pool those reads queue behind the engine's transactions and the
// subscriptions' reads, so that under a burst of work a request could wait
// seconds for a connection, and the wait was indistinguishable from a
// database that does not answer. Here a lookup first waits for one of the
// pool's slots (Acquire: the server is busy when that takes long) and then
// has a connection to itself (a slow query then means the database is slow
// or gone).
type LookupPool struct {
	client *ent.Client
	slots  chan struct{}
	close  func() error
}

// lookupConns is the size of the lookup pool: a token lookup is one indexed
// read, so a few connections serve hundreds of requests per second.
const lookupConns = 4

// openLookupPool opens the lookup pool beside the main one.
func openLookupPool(name, rawURL string, main *DB, opts Options) (*LookupPool, error) {
	p := &LookupPool{slots: make(chan struct{}, lookupConns), close: func() error { return nil }}
	var db *sql.DB
	switch {
	case name == dialect.Postgres:
		connector, err := pq.NewConnector(rawURL)
		if err != nil {
			return nil, err
		}
		db = sql.OpenDB(cachingConnector{connector})
	case strings.Contains(rawURL, "mode=memory") && !strings.Contains(rawURL, "cache=shared"):
		// A private in-memory database exists only on the main pool's
		// connections: share them.
		p.client = main.Client
		return p, nil
	default:
		var err error
		// A token lookup reads one row of a small table: a small page
		// cache per connection is plenty, and SQLite's caches live in
		// this process.
		if db, err = openSQLite(sqliteDSN(rawURL) + "&_pragma=cache_size(-256)"); err != nil {
			return nil, err
		}
	}
	db.SetMaxOpenConns(lookupConns)
	db.SetMaxIdleConns(lookupConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	var drv dialect.Driver = entsql.OpenDB(name, db)
	if opts.Driver != nil {
		drv = opts.Driver(drv)
	}
	p.client = newClient(drv, main.appends)
	p.close = p.client.Close
	return p, nil
}

// Acquire waits for a free slot of the pool, until ctx ends. The caller
// runs its lookup on Client and then calls release.
func (p *LookupPool) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case p.slots <- struct{}{}:
		return func() { <-p.slots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a lookup connection: %w", context.Cause(ctx))
	}
}

// Client is an ent client over the pool's connections.
func (p *LookupPool) Client() *ent.Client { return p.client }
