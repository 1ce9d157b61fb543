package graph

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
)

// CloseWriteTimeout is the close code of a websocket whose client stopped
// reading: 1013, Try Again Later, which graphql-ws clients retry. The client
// reconnects and resumes its subscriptions from the last seq it received.
const CloseWriteTimeout = int(websocket.StatusTryAgainLater)

// closeGrace bounds the close handshake of a stalled connection: its close
// frame can only follow the frame that stalled, so it reaches a client that
// resumes reading within this time; then the TCP connection is closed.
const closeGrace = 2 * time.Second

// deadlineWebsocket is gqlgen's CoderWebsocketImplementation with a deadline
// on every write and a liveness check. gqlgen writes with no deadline, under
// the connection's lock, so a client that stops reading blocks its
// connection for good: the socket, its slot among the token's connections
// and the buffered events (megabytes) were held until the process ended. A
// write that does not complete within WriteTimeout closes the connection.
//
// The write deadline alone catches only a client whose socket buffers are
// full. A client that stops reading while the kernel still has room for
// what is written to it (up to megabytes per socket) is never blocked on,
// so it would hold its connection until enough was written to it, which may
// be never once its subscriptions have ended. So every PingInterval the
// connection is also pinged (a websocket ping frame, which every client
// stack answers as it reads, without the application's help) and a pong
// that does not come within WriteTimeout closes the connection the same
// way. A pong follows whatever was queued before its ping, so this asks
// what the write deadline asks: that the client takes no longer than
// WriteTimeout to read what the server sent it.
type deadlineWebsocket struct {
	AcceptOptions websocket.AcceptOptions
	WriteTimeout  time.Duration
	// PingInterval is how often the connection is pinged; 0 turns the
	// liveness check off.
	PingInterval time.Duration
	Logger       *slog.Logger
	// Release, when set, returns memory to the OS after stalled
	// connections close (see memoryRelease).
	Release *memoryRelease
	// OnStall, when set, learns of each stalled connection closed.
	OnStall func()
}

// memoryRelease hands memory back to the OS a few seconds after the last
// stalled connection closed. A stalled connection holds megabytes of
// frames; once they are garbage the Go runtime returns them to the OS only
// gradually, so after a burst of stalls the process would keep its peak
// RSS for minutes. The release is one forced collection, coalesced over a
// burst: each stall pushes it back by delay.
type memoryRelease struct {
	delay time.Duration

	mu    sync.Mutex
	timer *time.Timer
}

func newMemoryRelease(delay time.Duration) *memoryRelease { return &memoryRelease{delay: delay} }

// soon schedules the release delay from now.
func (m *memoryRelease) soon() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.timer == nil {
		m.timer = time.AfterFunc(m.delay, debug.FreeOSMemory)
		return
	}
	m.timer.Reset(m.delay)
}

var _ transport.WebsocketImplementation = deadlineWebsocket{}

// Accept implements transport.WebsocketImplementation.
func (d deadlineWebsocket) Accept(w http.ResponseWriter, r *http.Request, options transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	for key, values := range options.ResponseHeader {
		for _, value := range values {
			w.Header().Add(key, value)
		}
	}
	opts := d.AcceptOptions
	opts.Subprotocols = slices.Clone(opts.Subprotocols)
	for _, p := range options.Subprotocols {
		if !slices.Contains(opts.Subprotocols, p) {
			opts.Subprotocols = append(opts.Subprotocols, p)
		}
	}
	hj := &hijackRecorder{ResponseWriter: w}
	conn, err := websocket.Accept(hj, r, &opts)
	if err != nil {
		return nil, err
	}
	c := &deadlineConn{conn: conn, raw: hj.conn, ctx: r.Context(), writeTimeout: d.WriteTimeout, logger: d.Logger, release: d.Release,
		onStall: d.OnStall, done: make(chan struct{})}
	if d.PingInterval > 0 && d.WriteTimeout > 0 {
		// Owned by the connection: it ends when the connection closes
		// (done) or the request it upgraded ends.
		go c.pingUntilClosed(d.PingInterval)
	}
	return c, nil
}

// hijackRecorder keeps the connection websocket.Accept hijacks, so that a
// stalled one can be closed while a write still holds the websocket's locks.
type hijackRecorder struct {
	http.ResponseWriter
	conn net.Conn
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	h.conn = conn
	return conn, rw, err
}

// deadlineConn is a transport.WebsocketConn over coder/websocket.
type deadlineConn struct {
	conn         *websocket.Conn
	raw          net.Conn // nil if Accept did not hijack (then no hard close)
	ctx          context.Context
	writeTimeout time.Duration
	logger       *slog.Logger
	release      *memoryRelease
	onStall      func()

	// done is closed when the connection closes, which stops its pings.
	done     chan struct{}
	doneOnce sync.Once

	mu           sync.Mutex
	readDeadline *time.Timer
	closing      bool
}

var (
	_ transport.WebsocketConn          = (*deadlineConn)(nil)
	_ transport.WebsocketReadLimiter   = (*deadlineConn)(nil)
	_ transport.WebsocketReadDeadliner = (*deadlineConn)(nil)
)

// WriteJSON implements transport.WebsocketConn. A write that stalls past
// the deadline closes the connection with CloseWriteTimeout.
func (c *deadlineConn) WriteJSON(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if c.writeTimeout > 0 {
		watchdog := time.AfterFunc(c.writeTimeout, c.stalled)
		defer watchdog.Stop()
	}
	return c.conn.Write(context.Background(), websocket.MessageText, data)
}

// stalled closes a connection whose write missed its deadline.
func (c *deadlineConn) stalled() {
	c.closeStalled(fmt.Sprintf("no write completed in %s", c.writeTimeout))
}

// pingUntilClosed pings the client every interval and closes the
// connection as stalled when a pong does not come within the write
// timeout. gqlgen's read loop reads the pongs (coder/websocket hands them
// to Ping from Read).
func (c *deadlineConn) pingUntilClosed(interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-c.ctx.Done():
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(c.ctx, c.writeTimeout)
		err := c.conn.Ping(ctx)
		cancel()
		if err == nil {
			continue
		}
		select {
		case <-c.done:
			return // closed meanwhile
		default:
		}
		if c.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
			return
		}
		// The ping could not be written in time (a write holds the
		// connection), or its pong did not come.
		c.closeStalled(fmt.Sprintf("no pong within %s", c.writeTimeout))
		return
	}
}

// closeStalled closes a connection whose client stopped reading: a close
// frame with the code and reason if the client resumes reading in time, and
// the TCP connection in any case, which fails a blocked write, ends
// gqlgen's read loop and so the connection's context: its subscriptions
// end, their memory is freed and the token's connection slot is released.
func (c *deadlineConn) closeStalled(why string) {
	reason := fmt.Sprintf("%s: %s; reconnect and resume from the last seq received", "SLOW_CONSUMER", why)
	first := c.startClose(CloseWriteTimeout, reason)
	if !first {
		return // a write deadline and a missed pong can both find the stall
	}
	c.logger.WarnContext(c.ctx, "graphql: closing a stalled websocket", "why", why)
	c.release.soon()
	if c.onStall != nil {
		c.onStall()
	}
}

// startClose reports whether it began the close: false when it had begun
// already.
func (c *deadlineConn) startClose(code int, reason string) bool {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false
	}
	c.closing = true
	c.stopReadDeadlineLocked()
	c.mu.Unlock()
	c.stopPings()
	// coder/websocket's Close waits up to 5 s to write the close frame and
	// 5 s more for the client's; closing the TCP connection after the grace
	// bounds both.
	go func() { _ = c.conn.Close(websocket.StatusCode(code), reason) }()
	if c.raw != nil {
		time.AfterFunc(closeGrace, func() { _ = c.raw.Close() })
	}
	return true
}

// WriteClose implements transport.WebsocketConn, without waiting for the
// close handshake (as gqlgen's own adapter does).
func (c *deadlineConn) WriteClose(code int, message string) error {
	_ = c.startClose(code, message)
	return nil
}

// Close implements transport.WebsocketConn.
func (c *deadlineConn) Close() error {
	c.mu.Lock()
	closing := c.closing
	c.stopReadDeadlineLocked()
	c.mu.Unlock()
	c.stopPings()
	if closing {
		return nil // the close handshake owns the connection
	}
	return c.conn.CloseNow()
}

func (c *deadlineConn) stopPings() { c.doneOnce.Do(func() { close(c.done) }) }

// NextReader implements transport.WebsocketConn.
func (c *deadlineConn) NextReader() (int, io.Reader, error) {
	typ, data, err := c.conn.Read(context.Background())
	if err != nil {
		switch websocket.CloseStatus(err) {
		case websocket.StatusNormalClosure, websocket.StatusNoStatusRcvd:
			return int(typ), nil, transport.ErrWebsocketClosed
		}
		if errors.Is(err, net.ErrClosed) {
			return int(typ), nil, transport.ErrWebsocketClosed
		}
		return int(typ), nil, err
	}
	return int(typ), bytes.NewReader(data), nil
}

// Subprotocol implements transport.WebsocketConn.
func (c *deadlineConn) Subprotocol() string { return c.conn.Subprotocol() }

// SetReadLimit implements transport.WebsocketReadLimiter.
func (c *deadlineConn) SetReadLimit(limit int64) { c.conn.SetReadLimit(limit) }

// SetReadDeadline implements transport.WebsocketReadDeadliner (gqlgen's
// ping-pong timeout).
func (c *deadlineConn) SetReadDeadline(deadline time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopReadDeadlineLocked()
	if deadline.IsZero() {
		return nil
	}
	c.readDeadline = time.AfterFunc(time.Until(deadline), func() { _ = c.conn.CloseNow() })
	return nil
}

func (c *deadlineConn) stopReadDeadlineLocked() {
	if c.readDeadline != nil {
		c.readDeadline.Stop()
		c.readDeadline = nil
	}
}
