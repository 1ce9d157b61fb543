package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/estateflow/estateflow/internal/cli"
)

const (
	subprotocol      = "graphql-transport-ws"
	handshakeTimeout = 15 * time.Second
	maxFrame         = 1 << 20
)

// Queries of the subscribers: what a monitor and a run's page ask for.
const (
	runsUpdatedQuery = `subscription LoadRunsUpdated { runsUpdated { id status progress updatedAt } }`
	runEventsQuery   = `subscription LoadRunEvents($runId: ID!, $afterSeq: Int) { runEvents(runId: $runId, afterSeq: $afterSeq) { seq type at } }`
)

// wsConn is one graphql-transport-ws connection. Once it is acknowledged,
// a reader goroutine reads it for as long as it is open, as browsers and
// websocket clients do: the websocket library answers the server's pings
// only while a read is in progress, so a watcher idle between runs would
// otherwise miss them and be closed as stalled. The reader answers
// graphql-transport-ws pings itself, drops heartbeats, and hands the other
// frames on through a bounded channel; a consumer that falls behind stops
// the reader, as a slow client stops reading.
type wsConn struct {
	c      *websocket.Conn
	frames chan inbound  // from the reader; closed when it ends
	gone   chan struct{} // closed by close(): the reader stops handing on
	once   sync.Once
}

// inbound is a frame the reader read, or the error that ended it.
type inbound struct {
	f   frame
	at  time.Time
	err error
}

// inboundQueue bounds the frames read and not yet taken.
const inboundQueue = 64

// frame is a graphql-transport-ws message as the subscribers read it.
type frame struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// result is a "next" frame's payload.
type result struct {
	Data struct {
		RunEvents *struct {
			Seq  int       `json:"seq"`
			Type string    `json:"type"`
			At   time.Time `json:"at"`
		} `json:"runEvents"`
		RunsUpdated *struct {
			ID        string    `json:"id"`
			Status    string    `json:"status"`
			UpdatedAt time.Time `json:"updatedAt"`
		} `json:"runsUpdated"`
	} `json:"data"`
	Errors []gqlError `json:"errors"`
}

type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

func (g gqlError) err() error {
	return &cli.APIError{Code: g.Extensions.Code, Message: g.Message}
}

// wsURL turns the server's http(s) URL into its GraphQL websocket URL.
func wsURL(server string) string {
	return "ws" + strings.TrimPrefix(server, "http") + "/graphql"
}

// dial opens a websocket and authenticates it with connection_init.
func dial(ctx context.Context, url, token string) (*wsConn, error) {
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{subprotocol}})
	if err != nil {
		return nil, fmt.Errorf("opening a websocket: %w", err)
	}
	c.SetReadLimit(maxFrame)
	w := &wsConn{c: c, gone: make(chan struct{})}
	init := map[string]any{}
	if token != "" {
		init["Authorization"] = "Bearer " + token
	}
	payload, _ := json.Marshal(init)
	if err := w.write(ctx, frame{Type: "connection_init", Payload: payload}); err != nil {
		w.close()
		return nil, err
	}
	for {
		f, _, err := w.readFrame(ctx)
		if err != nil {
			w.close()
			return nil, err
		}
		switch f.Type {
		case "connection_ack":
			w.frames = make(chan inbound, inboundQueue)
			go w.readLoop()
			return w, nil
		case "ping":
			if err := w.write(ctx, frame{Type: "pong"}); err != nil {
				w.close()
				return nil, err
			}
		}
	}
}

// subscribe starts operation id.
func (w *wsConn) subscribe(ctx context.Context, id, query string, vars map[string]any) error {
	payload, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	return w.write(ctx, frame{ID: id, Type: "subscribe", Payload: payload})
}

// complete stops operation id.
func (w *wsConn) complete(ctx context.Context, id string) error {
	return w.write(ctx, frame{ID: id, Type: "complete"})
}

// readLoop reads the connection until it fails or is closed.
func (w *wsConn) readLoop() {
	defer close(w.frames)
	for {
		// Not bounded by a context: canceling a read closes the
		// connection, and close() ends this read.
		f, at, err := w.readFrame(context.Background())
		if err == nil {
			switch f.Type {
			case "ping":
				err = w.write(context.Background(), frame{Type: "pong"})
				if err == nil {
					continue
				}
			case "pong":
				continue // the server's heartbeat
			}
		}
		select {
		case w.frames <- inbound{f: f, at: at, err: err}:
		case <-w.gone:
			return
		}
		if err != nil {
			return
		}
	}
}

// read returns the next frame and the time it arrived, or ctx's error.
func (w *wsConn) read(ctx context.Context) (frame, time.Time, error) {
	select {
	case in, ok := <-w.frames:
		if !ok {
			return frame{}, time.Now(), errors.New("the websocket is closed")
		}
		return in.f, in.at, in.err
	case <-ctx.Done():
		return frame{}, time.Now(), ctx.Err()
	}
}

// readFrame reads the next frame from the connection.
func (w *wsConn) readFrame(ctx context.Context) (frame, time.Time, error) {
	_, data, err := w.c.Read(ctx)
	at := time.Now()
	if err != nil {
		return frame{}, at, closeError(err)
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		return frame{}, at, &protocolError{fmt.Sprintf("a malformed websocket message: %v", err)}
	}
	return f, at, nil
}

func (w *wsConn) write(ctx context.Context, f frame) error {
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := w.c.Write(ctx, websocket.MessageText, data); err != nil {
		return closeError(err)
	}
	return nil
}

// close closes the connection; its reader then ends.
func (w *wsConn) close() {
	w.once.Do(func() { close(w.gone) })
	_ = w.c.CloseNow()
}

// next decodes a "next" or "error" frame's payload into a result, or an
// error carrying the GraphQL error's code.
func (f frame) next() (*result, error) {
	switch f.Type {
	case "next":
		var r result
		if err := json.Unmarshal(f.Payload, &r); err != nil {
			return nil, &protocolError{fmt.Sprintf("a malformed subscription result: %v", err)}
		}
		if len(r.Errors) > 0 {
			return nil, r.Errors[0].err()
		}
		return &r, nil
	case "error":
		var errs []gqlError
		if err := json.Unmarshal(f.Payload, &errs); err != nil || len(errs) == 0 {
			return nil, &protocolError{"a subscription error with no GraphQL error"}
		}
		return nil, errs[0].err()
	}
	return nil, nil
}

// closeError turns the server's refusals by close code into coded errors
// (see auth/http.go: 4429 is the token's limit of connections).
func closeError(err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		switch int(ce.Code) {
		case 4401:
			return &cli.APIError{Code: "UNAUTHENTICATED", Message: ce.Reason}
		case 4403:
			return &cli.APIError{Code: "FORBIDDEN", Message: ce.Reason}
		case 4429:
			return &cli.APIError{Code: "RATE_LIMITED", Message: ce.Reason}
		case 1013:
			return &cli.APIError{Code: "UNAVAILABLE", Message: ce.Reason}
		case 4500:
			return &cli.APIError{Code: "INTERNAL", Message: ce.Reason}
		}
	}
	return err
}
