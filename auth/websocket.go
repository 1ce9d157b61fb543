package auth

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
)

// connTrackingKey marks a websocket request's context with the place its
// tracked context is recorded once authenticated (in the upgrade request or
// in connection_init).
type connTrackingKey struct{}

// connTracking is where a websocket connection's tracked context is kept,
// so that its close frame can say why the connection ended.
type connTracking struct {
	mu  sync.Mutex
	ctx context.Context
}

func withConnTracking(ctx context.Context) context.Context {
	return context.WithValue(ctx, connTrackingKey{}, &connTracking{})
}

// noteTracked records a tracked context for the websocket connection it
// belongs to, if any.
func noteTracked(ctx context.Context) {
	if t, ok := ctx.Value(connTrackingKey{}).(*connTracking); ok {
		t.mu.Lock()
		t.ctx = ctx
		t.mu.Unlock()
	}
}

// endedByToken returns why the token ended the connection (revoked,
// expired), or nil when it did not.
func (t *connTracking) endedByToken() error {
	t.mu.Lock()
	ctx := t.ctx
	t.mu.Unlock()
	if ctx == nil {
		return nil
	}
	if cause := context.Cause(ctx); errors.Is(cause, ErrTokenRevoked) || errors.Is(cause, ErrTokenExpired) {
		return cause
	}
	return nil
}

// WebsocketImplementation wraps gqlgen's websocket implementation so that a
// connection its token ended (revoked, or expired while open) is closed
// with 4401 and the reason, not with gqlgen's 1000 "terminated": a client
// must learn that it needs a new token, not that the server said goodbye.
// It only acts on requests that passed through Middleware.
func (a *Authenticator) WebsocketImplementation(inner transport.WebsocketImplementation) transport.WebsocketImplementation {
	return websocketImplementation{inner: inner}
}

type websocketImplementation struct {
	inner transport.WebsocketImplementation
}

func (i websocketImplementation) Accept(w http.ResponseWriter, r *http.Request, options transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := i.inner.Accept(w, r, options)
	if err != nil {
		return nil, err
	}
	tracking, ok := r.Context().Value(connTrackingKey{}).(*connTracking)
	if !ok {
		return conn, nil
	}
	return &tokenClosingConn{WebsocketConn: conn, tracking: tracking}, nil
}

// tokenClosingConn rewrites the close frame of a connection its token ended.
type tokenClosingConn struct {
	transport.WebsocketConn
	tracking *connTracking
}

func (c *tokenClosingConn) WriteClose(code int, message string) error {
	if code == transport.WebsocketCloseNormalClosure {
		if cause := c.tracking.endedByToken(); cause != nil {
			code, message = CloseUnauthenticated, cause.Error()
		}
	}
	return c.WebsocketConn.WriteClose(code, message)
}

// SetReadLimit and SetReadDeadline pass on the optional interfaces the
// transport looks for, which embedding the interface would hide.

func (c *tokenClosingConn) SetReadLimit(limit int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

func (c *tokenClosingConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}
