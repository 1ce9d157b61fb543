package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/rest"
)

// outage makes the database look down to the app without stopping the
// shared server: while down, every statement fails with a real connection
// error, the one lib/pq returns when PostgreSQL refuses connections (a
// dial to a port nothing listens on). While only outsideTxDown, statements
// outside a transaction fail and transactions still commit, which lets a
// step's outcome be recorded and published while the streams that follow
// it cannot read.
type outage struct {
	down, outsideTxDown atomic.Bool
	err                 error
	// While hanging, queries wait, as on a host that drops packets, until
	// their context ends or released is closed.
	hanging  atomic.Bool
	released chan struct{}
}

// hang makes queries wait until their context ends, as a database whose
// host drops packets does, until release.
func (o *outage) hang() { o.hanging.Store(true) }

func (o *outage) release() {
	if o.hanging.CompareAndSwap(true, false) {
		close(o.released)
	}
}

// wait holds a query while the outage hangs.
func (o *outage) wait(ctx context.Context) error {
	if !o.hanging.Load() {
		return nil
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-o.released:
		return nil
	}
}

func newOutage(t *testing.T) *outage {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		conn.Close()
		t.Skip("a closed port accepted a connection")
	}
	return &outage{err: err, released: make(chan struct{})}
}

func (o *outage) wrap(d dialect.Driver) dialect.Driver {
	// A client on a transaction (database.DB.ClientOnTx, which River's
	// completions use) is a transaction's statements: outsideTxDown spares it.
	onTx := false
	switch drv := d.(type) {
	case *entsql.Driver:
		_, onTx = drv.Conn.ExecQuerier.(*sql.Tx)
	case interface{ OnTx() bool }:
		onTx = drv.OnTx()
	}
	return outageDriver{Driver: d, o: o, onTx: onTx}
}

type outageDriver struct {
	dialect.Driver
	o    *outage
	onTx bool
}

// failing reports whether a statement outside ent's own transactions fails.
func (d outageDriver) failing() bool {
	return d.o.down.Load() || (d.o.outsideTxDown.Load() && !d.onTx)
}

func (d outageDriver) Exec(ctx context.Context, query string, args, v any) error {
	if d.failing() {
		return d.o.err
	}
	return d.Driver.Exec(ctx, query, args, v)
}

func (d outageDriver) Query(ctx context.Context, query string, args, v any) error {
	if d.failing() {
		return d.o.err
	}
	if err := d.o.wait(ctx); err != nil {
		return err
	}
	return d.Driver.Query(ctx, query, args, v)
}

func (d outageDriver) Tx(ctx context.Context) (dialect.Tx, error) {
	if d.o.down.Load() {
		return nil, d.o.err
	}
	return d.Driver.Tx(ctx)
}

// ExecContext, QueryContext and BeginTx pass on what ent's SQL driver offers
// beyond dialect.Driver, as dialect.DebugDriver does.

func (d outageDriver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if d.failing() {
		return nil, d.o.err
	}
	drv, ok := d.Driver.(interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	})
	if !ok {
		return nil, errors.New("outage: Driver.ExecContext is not supported")
	}
	return drv.ExecContext(ctx, query, args...)
}

func (d outageDriver) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if d.failing() {
		return nil, d.o.err
	}
	if err := d.o.wait(ctx); err != nil {
		return nil, err
	}
	drv, ok := d.Driver.(interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	})
	if !ok {
		return nil, errors.New("outage: Driver.QueryContext is not supported")
	}
	return drv.QueryContext(ctx, query, args...)
}

func (d outageDriver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	if d.o.down.Load() {
		return nil, d.o.err
	}
	drv, ok := d.Driver.(interface {
		BeginTx(context.Context, *sql.TxOptions) (dialect.Tx, error)
	})
	if !ok {
		return nil, errors.New("outage: Driver.BeginTx is not supported")
	}
	return drv.BeginTx(ctx, opts)
}

// TestDatabaseOutageIsUnavailable: while the database is down, a request
// with a good token is told 503 UNAVAILABLE with a Retry-After, never 401
// UNAUTHENTICATED (a client would throw its token away), over GraphQL, REST
// and websocket connection_init alike; a subscribe on a connection opened
// before the outage is told UNAVAILABLE too, and the token works again
// once the database is back.
func TestDatabaseOutageIsUnavailable(t *testing.T) {
	t.Parallel()
	o := newOutage(t)
	api := newTestAPI(t, testOptions{driver: o.wrap})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	before, err := initWebsocket(t, ctx, api.srv.URL, api.token)
	if err != nil {
		t.Fatal(err)
	}
	defer before.CloseNow()

	o.down.Store(true)
	status, header, raw := send(t, http.MethodPost, api.srv.URL+"/graphql", api.token,
		strings.NewReader(`{"query":"{ viewer { role } }"}`), map[string]string{"Content-Type": "application/json"})
	var gql gqlResponse
	if err := json.Unmarshal(raw, &gql); err != nil {
		t.Fatalf("GraphQL: %d %s", status, raw)
	}
	gql.status = status
	if status != http.StatusServiceUnavailable || header.Get("Retry-After") == "" {
		t.Fatalf("GraphQL during the outage: %d (Retry-After %q) %s; want 503 with Retry-After", status, header.Get("Retry-After"), raw)
	}
	gql.wantError(t, string(errcode.Unavailable), "")

	got := restCall(t, api.srv.URL, api.token, http.MethodGet, rest.Prefix+"orchestration/runs", nil, nil)
	got.wantError(t, http.StatusServiceUnavailable, string(errcode.Unavailable), "")
	if got.header.Get("Retry-After") == "" {
		t.Fatalf("REST during the outage: no Retry-After: %v", got.header)
	}

	_, err = initWebsocket(t, ctx, api.srv.URL, api.token)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != auth.CloseTryAgainLater || !strings.Contains(ce.Reason, string(errcode.Unavailable)) {
		t.Fatalf("connection_init during the outage: %v; want close %d with UNAVAILABLE", err, auth.CloseTryAgainLater)
	}

	// A subscribe on a connection authenticated before the outage: its
	// resolver cannot load the run.
	if err := wsjson.Write(ctx, before, map[string]any{"id": "1", "type": "subscribe",
		"payload": map[string]any{"query": runEventsSubscription, "variables": map[string]any{"id": "1"}}}); err != nil {
		t.Fatal(err)
	}
	if code := subscriptionErrorCode(t, ctx, before); code != string(errcode.Unavailable) {
		t.Fatalf("subscribe during the outage: code %q, want UNAVAILABLE", code)
	}

	o.down.Store(false)
	var viewer struct{ Viewer struct{ Role string } }
	api.do(`{ viewer { role } }`, nil).ok(t, &viewer)
	if viewer.Viewer.Role != "ADMIN" {
		t.Fatalf("after the outage: %+v", viewer)
	}
}

// TestUnansweredTokenLookupIsUnavailable: a database that does not answer
// (its host drops packets) is unavailable too, once the token lookup's
// timeout passes, rather than holding the request or refusing the token.
func TestUnansweredTokenLookupIsUnavailable(t *testing.T) {
	t.Parallel()
	o := newOutage(t)
	api := newTestAPI(t, testOptions{driver: o.wrap, shutdownGrace: 100 * time.Millisecond})
	api.authn.LookupTimeout = 300 * time.Millisecond
	o.hang()
	defer o.release()
	start := time.Now()
	status, header, raw := send(t, http.MethodPost, api.srv.URL+"/graphql", api.token,
		strings.NewReader(`{"query":"{ viewer { role } }"}`), map[string]string{"Content-Type": "application/json"})
	if status != http.StatusServiceUnavailable || header.Get("Retry-After") == "" || !strings.Contains(string(raw), string(errcode.Unavailable)) {
		t.Fatalf("GraphQL while the database does not answer: %d (Retry-After %q) %s; want 503 UNAVAILABLE", status, header.Get("Retry-After"), raw)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the refusal took %s", d)
	}
}

// TestOpenRunsUpdatedOutlivesAReadOutage: while reads outside
// transactions fail, a change that commits still reaches an open
// runsUpdated subscription, with no error: its state comes from the
// change's transaction, and nothing is read for the subscriber.
func TestOpenRunsUpdatedOutlivesAReadOutage(t *testing.T) {
	t.Parallel()
	o := newOutage(t)
	gate := make(stepGate)
	api := newTestAPI(t, testOptions{driver: o.wrap, shutdownGrace: 100 * time.Millisecond, executors: executorsOf(map[stepkind.Kind]engine.Executor{
		stepkind.CMAAnalysis: gate, stepkind.ListingStrategy: gate, stepkind.MarketingCampaign: gate, stepkind.SocialScheduling: gate,
	})})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	startListingRun(t, api)
	conn, err := initWebsocket(t, ctx, api.srv.URL, api.token)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if err := wsjson.Write(ctx, conn, map[string]any{"id": "1", "type": "subscribe",
		"payload": map[string]any{"query": "subscription { runsUpdated { id status progress } }"}}); err != nil {
		t.Fatal(err)
	}
	// The subscription is open once the first step has run far enough to
	// report progress.
	time.Sleep(300 * time.Millisecond)
	o.outsideTxDown.Store(true)
	defer o.outsideTxDown.Store(false)
	select {
	case gate <- struct{}{}: // the step's outcome commits and is published
	case <-ctx.Done():
		t.Fatal("the first step never ran")
	}
	for {
		var msg struct {
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
		}
		if err := wsjson.Read(ctx, conn, &msg); err != nil {
			t.Fatalf("waiting for the step's outcome: %v", err)
		}
		switch msg.Type {
		case "next":
			var p struct {
				Data struct {
					RunsUpdated struct{ Progress float64 }
				}
				Errors []gqlError
			}
			if err := json.Unmarshal(msg.Payload, &p); err != nil || len(p.Errors) > 0 {
				t.Fatalf("runsUpdated during the outage: %s (%v)", msg.Payload, err)
			}
			if p.Data.RunsUpdated.Progress >= 0.25 {
				return // the first of four steps' outcome arrived
			}
		case "error", "complete":
			t.Fatalf("the subscription ended during the outage: %s %s", msg.Type, msg.Payload)
		}
	}
}

// subscriptionErrorCode reads a graphql-transport-ws connection until an
// error arrives for a subscription and returns its code.
func subscriptionErrorCode(t *testing.T, ctx context.Context, conn *websocket.Conn) string {
	t.Helper()
	for {
		var msg struct {
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
		}
		if err := wsjson.Read(ctx, conn, &msg); err != nil {
			t.Fatalf("waiting for an error: %v", err)
		}
		var errs []gqlError
		switch msg.Type {
		case "error":
			_ = json.Unmarshal(msg.Payload, &errs)
		case "next":
			var p struct{ Errors []gqlError }
			_ = json.Unmarshal(msg.Payload, &p)
			errs = p.Errors
		case "complete":
			t.Fatal("the subscription completed without an error")
		}
		if len(errs) > 0 {
			code, _ := errs[0].Extensions["code"].(string)
			for _, leak := range []string{"dial", "127.0.0.1", "refused", "pq:", "SELECT"} {
				if strings.Contains(errs[0].Message, leak) {
					t.Fatalf("error leaks internals (%q): %s", leak, errs[0].Message)
				}
			}
			return code
		}
	}
}

// tcpProxy forwards connections to a PostgreSQL server until cut, after
// which its port refuses connections and the ones it carried are closed:
// what the app sees when the server goes down.
type tcpProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target}
	go p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	for {
		client, err := ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(server, client); server.Close() }()
		go func() { _, _ = io.Copy(client, server); client.Close() }()
	}
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore listens again on the proxy's address: the server is back.
func (p *tcpProxy) restore(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	ln, err := net.Listen("tcp", p.ln.Addr().String())
	if err != nil {
		t.Fatalf("proxy: listening again: %v", err)
	}
	p.ln = ln
	go p.serve(ln)
}

// TestHealthzIgnoresTheDatabaseReadyzReportsIt: during a database outage
// /healthz (liveness) still says the process is up, so that a supervisor
// does not restart every replica for a database blip, while /readyz says
// not ready, with the database and jobs (no step runs without it) failing.
// On PostgreSQL the app reaches the server through a proxy that is cut; on
// SQLite the app's connection pool is closed.
func TestHealthzIgnoresTheDatabaseReadyzReportsIt(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	var proxy *tcpProxy
	if database.IsPostgres(url) {
		u, err := neturl.Parse(url)
		if err != nil {
			t.Fatal(err)
		}
		proxy = newTCPProxy(t, u.Host)
		u.Host = proxy.ln.Addr().String()
		url = u.String()
	}
	api := newTestAPI(t, testOptions{dbURL: url, shutdownGrace: 100 * time.Millisecond})
	probe := func(path string) (int, []byte) {
		t.Helper()
		status, _, raw := send(t, http.MethodGet, api.srv.URL+path, "", nil, nil)
		return status, raw
	}
	if status, raw := probe("/readyz"); status != http.StatusOK {
		t.Fatalf("readyz before the outage: %d %s", status, raw)
	}
	if proxy != nil {
		proxy.cut()
	} else {
		api.db.SQL.Close()
	}
	if status, raw := probe("/healthz"); status != http.StatusOK {
		t.Fatalf("healthz during the outage: %d %s, want 200", status, raw)
	}
	status, raw := probe("/readyz")
	var body struct {
		Ready  bool
		Checks map[string]string
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("readyz: %d %s", status, raw)
	}
	if status != http.StatusServiceUnavailable || body.Ready || body.Checks["database"] != "failing" || body.Checks["jobs"] != "failing" {
		t.Fatalf("readyz during the outage: %d %s; want 503 with database and jobs failing", status, raw)
	}
	if proxy == nil {
		return
	}
	// The server is back: ready again, once the connections are.
	proxy.restore(t)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		status, raw := probe("/readyz")
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz after the outage: %d %s", status, raw)
		}
	}
}
