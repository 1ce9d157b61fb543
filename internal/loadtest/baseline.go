package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// BaselineConfig is a run of the trivial broadcaster.
type BaselineConfig struct {
	// Subscribers connect to it, each on its own websocket, as runsUpdated
	// listeners.
	Subscribers int
	// Runs × MessagesPerRun messages are broadcast, each run's last one
	// its terminal state.
	Runs, MessagesPerRun int
	// ConnectConcurrency bounds the websockets being opened at once.
	ConnectConcurrency int
	// Settle bounds the wait for the last messages to arrive.
	Settle time.Duration
	// Progress, if set, receives a line when the broadcast starts.
	Progress io.Writer
	// StartBroadcaster starts the broadcaster (ServeBroadcaster) and
	// returns its base URL, and a function that stops it and waits for it
	// to end. Nil serves it in this process. `estateflow loadtest` starts
	// it as a process of its own, as the server is: in one process, the
	// broadcaster's and the subscribers' ends of 10,000 websockets would
	// need 20,000 open files, and the two would share one runtime.
	StartBroadcaster func(ctx context.Context) (url string, stop func() error, err error)
}

// connQueue bounds the frames waiting for one connection's writer; a full
// queue makes the broadcast wait (back-pressure), so nothing is dropped.
const connQueue = 256

// writeTimeout bounds one frame's write to one connection.
const writeTimeout = 10 * time.Second

// RunBaseline starts the trivial broadcaster, connects the subscribers to
// it with the load test's own client, has it broadcast the messages as
// fast as the sockets take them, and reports what the subscribers
// measured. It is the ceiling a server's fan-out is compared to: each
// message is serialised once and written to every socket, with no
// database, no resolver and no per-subscriber work.
func RunBaseline(ctx context.Context, cfg BaselineConfig) (*Report, error) {
	if cfg.Subscribers <= 0 || cfg.Runs <= 0 || cfg.MessagesPerRun <= 0 {
		return nil, errors.New("the baseline needs subscribers, runs and messages per run")
	}
	if cfg.ConnectConcurrency <= 0 {
		cfg.ConnectConcurrency = Defaults().ConnectConcurrency
	}
	start := cfg.StartBroadcaster
	if start == nil {
		start = startInProcess
	}
	base, stop, err := start(ctx)
	if err != nil {
		return nil, fmt.Errorf("starting the trivial broadcaster: %w", err)
	}
	defer func() { _ = stop() }()
	ctl := &broadcasterClient{base: base, http: &http.Client{}}

	reg, errs := newRegistry(), newErrorCounter()
	fl := newFleet("ws"+strings.TrimPrefix(base, "http")+"/graphql", "", cfg.Subscribers, 0, cfg.ConnectConcurrency, reg, errs)
	subCtx, stopSubs := context.WithCancel(ctx)
	fl.start(subCtx)
	defer func() {
		stopSubs()
		fl.wait()
	}()
	if err := ctl.waitSubscribed(ctx, cfg.Subscribers, handshakeTimeout+time.Duration(cfg.Subscribers)*time.Millisecond); err != nil {
		return nil, err
	}
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "loadtest baseline: broadcasting %d runs × %d messages to %d websockets\n", cfg.Runs, cfg.MessagesPerRun, cfg.Subscribers)
	}

	began := time.Now()
	finished := make([]int, 0, cfg.Runs)
	for r := range cfg.Runs {
		id := "baseline-" + strconv.Itoa(r)
		i := reg.add(id)
		if err := ctl.broadcast(ctx, id, cfg.MessagesPerRun); err != nil {
			return nil, err
		}
		reg.mu.Lock()
		reg.runs[i].status = "SUCCEEDED"
		reg.mu.Unlock()
		finished = append(finished, i)
	}
	sent := time.Now()
	fl.settle(ctx, finished, max(cfg.Settle, time.Second))
	connected := fl.connected.Load()
	stopSubs()
	fl.wait()

	rep := &Report{Target: "trivial broadcaster", LoadSeconds: sent.Sub(began).Seconds()}
	rep.Runs = RunStats{Started: cfg.Runs, Completed: cfg.Runs, Succeeded: cfg.Runs,
		StartedPerSec: float64(cfg.Runs) / rep.LoadSeconds, CompletedPerSec: float64(cfg.Runs) / rep.LoadSeconds}
	rep.Delivery = fl.stats(began, finished)
	rep.Delivery.ConnectedAtEnd = connected
	rep.Errors, rep.ErrorSamples = errs.snapshot()
	return rep, nil
}

// startInProcess serves the broadcaster on a loopback port of this
// process until stop is called.
func startInProcess(ctx context.Context) (string, func() error, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listening: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- ServeBroadcaster(ctx, ln) }()
	return "http://" + ln.Addr().String(), func() error {
		cancel()
		return <-served
	}, nil
}

// ServeBroadcaster serves the trivial broadcaster on ln until ctx ends,
// then closes its connections and returns once every handler has. It
// answers:
//
//   - /graphql: graphql-transport-ws; each connection takes one
//     subscription, whatever its query, and receives every broadcast;
//   - GET /subscribed: how many connections have subscribed, as text;
//   - POST /broadcast?run=ID&messages=M: broadcasts M runsUpdated states of
//     run ID, the last SUCCEEDED, and answers once every connection's
//     queue has taken them.
func ServeBroadcaster(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b := newBroadcaster(ctx)
	mux := http.NewServeMux()
	mux.Handle("/graphql", b)
	mux.HandleFunc("GET /subscribed", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, b.subscribed())
	})
	mux.HandleFunc("POST /broadcast", func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("run")
		n, err := strconv.Atoi(r.URL.Query().Get("messages"))
		if id == "" || err != nil || n < 1 {
			http.Error(w, "want run=ID&messages=N (N > 0)", http.StatusBadRequest)
			return
		}
		for m := 1; m <= n; m++ {
			status := "RUNNING"
			if m == n {
				status = "SUCCEEDED"
			}
			if err := b.broadcast(r.Context(), id, status, float64(m)/float64(n)); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: handshakeTimeout}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	cancel()        // ends the websockets' handlers, which Close does not track
	_ = srv.Close() // closes the listener and the other connections
	b.wait()
	if err == nil {
		<-served
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// broadcasterClient drives a broadcaster through its control endpoints.
type broadcasterClient struct {
	base string
	http *http.Client
}

// waitSubscribed waits until n connections have subscribed.
func (c *broadcasterClient) waitSubscribed(ctx context.Context, n int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	got := 0
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/subscribed", nil)
		if err != nil {
			return err
		}
		if resp, err := c.http.Do(req); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got, _ = strconv.Atoi(strings.TrimSpace(string(body)))
		}
		if got >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the trivial broadcaster has %d of %d subscribers after %v", got, n, timeout)
		case <-t.C:
		}
	}
}

// broadcast has the broadcaster send a run's messages to every connection.
func (c *broadcasterClient) broadcast(ctx context.Context, runID string, messages int) error {
	u := c.base + "/broadcast?" + url.Values{"run": {runID}, "messages": {strconv.Itoa(messages)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("broadcasting run %s: %w", runID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("broadcasting run %s: %s: %s", runID, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// broadcaster is the trivial graphql-transport-ws server: it acknowledges
// connection_init, takes one subscription per connection (whatever its
// query) and sends every broadcast message to every subscription.
type broadcaster struct {
	ctx context.Context
	wg  sync.WaitGroup

	mu     sync.Mutex
	closed bool // wait has begun: no new connection is served
	conns  map[*bconn]struct{}
}

type bconn struct {
	opID string
	out  chan []byte
	gone chan struct{} // closed when the connection's handler returns
}

func newBroadcaster(ctx context.Context) *broadcaster {
	return &broadcaster{ctx: ctx, conns: map[*bconn]struct{}{}}
}

// wait waits for every connection's handler to return; call it after its
// context has ended.
func (b *broadcaster) wait() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.wg.Wait()
}

func (b *broadcaster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	b.wg.Add(1)
	b.mu.Unlock()
	defer b.wg.Done()
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{subprotocol}})
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx, cancel := context.WithCancel(b.ctx)
	defer cancel()
	opID, err := handshake(ctx, c)
	if err != nil {
		return
	}
	bc := &bconn{opID: opID, out: make(chan []byte, connQueue), gone: make(chan struct{})}
	b.mu.Lock()
	b.conns[bc] = struct{}{}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.conns, bc)
		b.mu.Unlock()
		close(bc.gone)
	}()
	ctx = c.CloseRead(ctx) // answers control frames; ends ctx when the client goes
	for {
		select {
		case <-ctx.Done():
			return
		case msg := <-bc.out:
			wctx, wcancel := context.WithTimeout(ctx, writeTimeout)
			err := c.Write(wctx, websocket.MessageText, msg)
			wcancel()
			if err != nil {
				return
			}
		}
	}
}

// handshake answers connection_init and returns the subscription's ID.
func handshake(ctx context.Context, c *websocket.Conn) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return "", err
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			return "", err
		}
		switch f.Type {
		case "connection_init":
			if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_ack"}`)); err != nil {
				return "", err
			}
		case "subscribe":
			return f.ID, nil
		}
	}
}

// subscribed is how many connections have subscribed.
func (b *broadcaster) subscribed() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.conns)
}

// broadcast serialises a run's state once per subscription ID (the load
// test's listeners all use one) and queues it for every connection,
// waiting for room in a full queue.
func (b *broadcaster) broadcast(ctx context.Context, runID, status string, progress float64) error {
	b.mu.Lock()
	conns := make([]*bconn, 0, len(b.conns))
	for c := range b.conns {
		conns = append(conns, c)
	}
	b.mu.Unlock()
	type run struct {
		ID        string    `json:"id"`
		Status    string    `json:"status"`
		Progress  float64   `json:"progress"`
		UpdatedAt time.Time `json:"updatedAt"`
	}
	payload, err := json.Marshal(map[string]any{"data": map[string]any{"runsUpdated": run{runID, status, progress, time.Now()}}})
	if err != nil {
		return err
	}
	frames := map[string][]byte{}
	for _, c := range conns {
		msg, ok := frames[c.opID]
		if !ok {
			if msg, err = json.Marshal(frame{ID: c.opID, Type: "next", Payload: payload}); err != nil {
				return err
			}
			frames[c.opID] = msg
		}
		select {
		case c.out <- msg:
		case <-c.gone: // the subscriber left: it misses the message
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
