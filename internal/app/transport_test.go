package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

// TestRefusalsCarryCodes sends what /graphql does not serve, or serves
// only one way, and checks that every refusal is a JSON GraphQL response
// with extensions.code, labelled with the media type asked for.
func TestRefusalsCarryCodes(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	query := url.Values{"query": {"mutation { __typename }"}}.Encode()
	const body = `{"query": "{ __typename }"}`
	tests := []struct {
		name        string
		method, url string
		header      map[string]string
		body        string
		wantStatus  int
		wantCode    string
		wantField   string
		wantMedia   string // default application/json
	}{
		{name: "mutation over GET", method: "GET", url: "?" + query, wantStatus: 405, wantCode: "UNSUPPORTED_TRANSPORT"},
		{name: "mutation over GET, graphql-response+json", method: "GET", url: "?" + query,
			header:     map[string]string{"Accept": "application/graphql-response+json"},
			wantStatus: 405, wantCode: "UNSUPPORTED_TRANSPORT", wantMedia: "application/graphql-response+json"},
		{name: "text/plain", method: "POST", header: map[string]string{"Content-Type": "text/plain"}, body: body,
			wantStatus: 415, wantCode: "UNSUPPORTED_TRANSPORT", wantField: "Content-Type"},
		{name: "form-urlencoded", method: "POST", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			body: "query=%7B__typename%7D", wantStatus: 415, wantCode: "UNSUPPORTED_TRANSPORT", wantField: "Content-Type"},
		{name: "multipart", method: "POST", header: map[string]string{"Content-Type": "multipart/form-data; boundary=x"},
			body:       "--x\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n" + body + "\r\n--x--\r\n",
			wantStatus: 415, wantCode: "UNSUPPORTED_TRANSPORT", wantField: "Content-Type"},
		{name: "no content type", method: "POST", body: body, wantStatus: 415, wantCode: "UNSUPPORTED_TRANSPORT", wantField: "Content-Type"},
		{name: "PUT with a query", method: "PUT", header: map[string]string{"Content-Type": "application/json"}, body: body,
			wantStatus: 405, wantCode: "UNSUPPORTED_TRANSPORT"},
		{name: "PATCH", method: "PATCH", header: map[string]string{"Content-Type": "application/json"}, body: body,
			wantStatus: 405, wantCode: "UNSUPPORTED_TRANSPORT"},
		{name: "subscription over POST", method: "POST", header: map[string]string{"Content-Type": "application/json"},
			body: `{"query": "subscription { runsUpdated { id } }"}`, wantStatus: 200, wantCode: "UNSUPPORTED_TRANSPORT"},
		{name: "subscription over POST, graphql-response+json", method: "POST",
			header: map[string]string{"Content-Type": "application/json", "Accept": "application/graphql-response+json"},
			body:   `{"query": "subscription { runsUpdated { id } }"}`, wantStatus: 400, wantCode: "UNSUPPORTED_TRANSPORT",
			wantMedia: "application/graphql-response+json"},
		{name: "subscription over GET", method: "GET", url: "?" + url.Values{"query": {"subscription { runsUpdated { id } }"}}.Encode(),
			wantStatus: 200, wantCode: "UNSUPPORTED_TRANSPORT"},
		{name: "first and last", method: "POST", header: map[string]string{"Content-Type": "application/json"},
			body: `{"query": "{ properties(first: 2, last: 2) { totalCount } }"}`, wantStatus: 200, wantCode: "BAD_USER_INPUT", wantField: "properties.last"},
		{name: "no query", method: "POST", header: map[string]string{"Content-Type": "application/json"},
			body: `{"qeury": "{ __typename }"}`, wantStatus: 400, wantCode: "BAD_USER_INPUT", wantField: "query"},
		{name: "malformed JSON, graphql-response+json", method: "POST",
			header: map[string]string{"Content-Type": "application/json", "Accept": "application/graphql-response+json"},
			body:   `{"query": `, wantStatus: 400, wantCode: "BAD_USER_INPUT", wantMedia: "application/graphql-response+json"},
		{name: "GET variables that are not JSON", method: "GET", url: "?" + url.Values{"query": {"{ __typename }"}, "variables": {"{x"}}.Encode(),
			wantStatus: 400, wantCode: "BAD_USER_INPUT", wantField: "variables"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, header, raw := sendWithin(t, 10*time.Second, tt.method, api.srv.URL+"/graphql"+tt.url, api.token, tt.body, tt.header)
			wantMedia := tt.wantMedia
			if wantMedia == "" {
				wantMedia = "application/json"
			}
			if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, wantMedia) {
				t.Errorf("Content-Type %q, want %s", ct, wantMedia)
			}
			var resp gqlResponse
			if err := json.Unmarshal(raw, &resp); err != nil {
				t.Fatalf("%d, body is not JSON: %s", status, raw)
			}
			if status != tt.wantStatus {
				t.Errorf("status %d, want %d: %s", status, tt.wantStatus, raw)
			}
			if resp.Data != nil {
				t.Errorf("a refusal has a data entry: %s", raw)
			}
			resp.wantError(t, tt.wantCode, tt.wantField)
		})
	}
}

// sendWithin is send with a deadline: a subscription sent over plain POST
// used to wait for its first event.
func sendWithin(t *testing.T, timeout time.Duration, method, url, token, body string, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return sendContext(ctx, t, method, url, token, strings.NewReader(body), header)
}

// TestRequestErrorStatuses checks GraphQL over HTTP's statuses for errors
// raised before execution: 200 with application/json, 400 with
// application/graphql-response+json, and no data entry either way.
func TestRequestErrorStatuses(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	for _, tc := range []struct{ name, body string }{
		{"parse failure", `{"query": "{"}`},
		{"validation failure", `{"query": "{ noSuchField }"}`},
		{"variable coercion failure", `{"query": "query($first: Int!) { properties(first: $first) { totalCount } }", "variables": {"first": "ten"}}`},
	} {
		for accept, want := range map[string]int{"application/json": 200, "application/graphql-response+json": 400} {
			t.Run(tc.name+" as "+accept, func(t *testing.T) {
				status, header, raw := send(t, "POST", api.srv.URL+"/graphql", api.token, strings.NewReader(tc.body),
					map[string]string{"Content-Type": "application/json", "Accept": accept})
				if status != want || !strings.HasPrefix(header.Get("Content-Type"), accept) {
					t.Fatalf("%d %s, want %d %s: %s", status, header.Get("Content-Type"), want, accept, raw)
				}
				var body map[string]json.RawMessage
				if err := json.Unmarshal(raw, &body); err != nil {
					t.Fatal(err)
				}
				if _, ok := body["data"]; ok {
					t.Fatalf("a request error has a data entry: %s", raw)
				}
				if !bytes.Contains(body["errors"], []byte(`"BAD_USER_INPUT"`)) {
					t.Fatalf("errors without BAD_USER_INPUT: %s", raw)
				}
			})
		}
	}
}

// TestDeferIsNotAdvertised: no transport delivers incremental results, so
// the schema must not offer @defer, and a query that uses it is refused
// rather than answered all at once.
func TestDeferIsNotAdvertised(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{config: func(c *Config) { c.Introspection = true }})
	var schema struct {
		Schema struct {
			Directives []struct{ Name string } `json:"directives"`
		} `json:"__schema"`
	}
	api.do(`{ __schema { directives { name } } }`, nil).ok(t, &schema)
	var names []string
	for _, d := range schema.Schema.Directives {
		names = append(names, d.Name)
		if d.Name == "defer" {
			t.Fatalf("introspection lists @defer: %v", schema.Schema.Directives)
		}
	}
	if !strings.Contains(strings.Join(names, " "), "include") {
		t.Fatalf("directives %v lack the built-in @include", names)
	}
	api.do(`{ viewer { ... @defer { role } } }`, nil).wantError(t, "BAD_USER_INPUT", "")
}

// TestStalledWebsocketIsClosed opens a subscription whose events are large
// on a socket whose client stops reading. The server must close the
// connection once a write has stalled past the write timeout (with
// SLOW_CONSUMER's close code and reason, for a client that resumes reading
// in time), which frees the token's only connection slot for a new one.
func TestStalledWebsocketIsClosed(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	api, runID := stalledListingAPI(t, &logs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stalled := dialTinyBuffer(t, ctx, api.srv.URL)
	stalled.SetReadLimit(-1)
	ackWebsocket(t, ctx, stalled, api.token)
	if err := wsjson.Write(ctx, stalled, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": stallingSubscription(), "variables": map[string]any{"id": runID},
	}}); err != nil {
		t.Fatal(err)
	}
	// The client reads nothing until the server has given up on the write.
	for !strings.Contains(logs.String(), "closing a stalled websocket") {
		if ctx.Err() != nil {
			t.Fatal("the server never closed the stalled websocket")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var closeErr error
	for closeErr == nil {
		_, _, closeErr = stalled.Read(ctx)
	}
	if ctx.Err() != nil {
		t.Fatalf("the stalled connection stayed open: %v", closeErr)
	}
	if status := websocket.CloseStatus(closeErr); status != websocket.StatusTryAgainLater {
		t.Errorf("closed with %v, want 1013 (try again later)", closeErr)
	} else if !strings.Contains(closeErr.Error(), "SLOW_CONSUMER") {
		t.Errorf("close reason %q lacks SLOW_CONSUMER", closeErr)
	}

	// The token's one connection slot is free again.
	for {
		conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(api.srv.URL, "http")+"/graphql",
			&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + api.token}}); err != nil {
			t.Fatal(err)
		}
		var ack struct{ Type string }
		err = wsjson.Read(ctx, conn, &ack)
		conn.CloseNow()
		if err == nil && ack.Type == "connection_ack" {
			break
		}
		// 4429: the stalled connection still holds the slot. 1013: the new
		// connection was let in but missed a pong on this loaded machine
		// (the deadline is short); either way, try again.
		if status := websocket.CloseStatus(err); (status != 4429 && status != websocket.StatusTryAgainLater) || ctx.Err() != nil {
			t.Fatalf("a new connection: %v %+v", err, ack)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWebsocketThatStopsReadingIsClosedWithRoomInItsBuffers covers the
// stalled client that the write deadline cannot see: one that stops reading
// while the kernel still has room for everything written to it, so that no
// write of the server ever blocks (here nothing but a small heartbeat is
// written at all). The server's pings go unanswered and it closes the
// connection within the ping interval plus the write timeout, while a
// client that keeps reading stays connected through many pings.
func TestWebsocketThatStopsReadingIsClosedWithRoomInItsBuffers(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	// Long enough that a reading client's pong is never late on a loaded
	// machine: the pong waits for the client's goroutine to be scheduled.
	const writeTimeout = 2 * time.Second
	api := newTestAPI(t, testOptions{
		logger: slog.New(slog.NewTextHandler(&logs, nil)),
		config: func(c *Config) { c.WSWriteTimeout = writeTimeout },
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(api.srv.URL, "http") + "/graphql"
	dial := func() *websocket.Conn {
		conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.CloseNow() })
		ackWebsocket(t, ctx, conn, api.token)
		return conn
	}

	// A reading client: coder/websocket answers pings inside Read.
	reading := dial()
	readEnded := make(chan error, 1)
	go func() {
		for {
			if _, _, err := reading.Read(ctx); err != nil {
				readEnded <- err
				return
			}
		}
	}()

	stalled := dial() // reads nothing from here on
	opened := time.Now()
	for !strings.Contains(logs.String(), "closing a stalled websocket") {
		if time.Since(opened) > 10*writeTimeout {
			t.Fatalf("the server did not close a websocket whose client stopped reading within %s", 10*writeTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-readEnded:
		t.Fatalf("the server closed the client that reads: %v", err)
	default:
	}
	// Reading now, the stalled client finds the close frame (nothing else
	// was queued before it but small heartbeats).
	readCtx, cancelRead := context.WithTimeout(ctx, 5*time.Second)
	defer cancelRead()
	_, _, err := stalled.Read(readCtx)
	for err == nil {
		_, _, err = stalled.Read(readCtx)
	}
	if status := websocket.CloseStatus(err); status != websocket.StatusTryAgainLater || !strings.Contains(err.Error(), "SLOW_CONSUMER") {
		t.Errorf("the stalled websocket ended with %v, want 1013 with a SLOW_CONSUMER reason", err)
	}

	// The reading client is pinged a few times more and stays connected.
	select {
	case err := <-readEnded:
		t.Fatalf("the server closed the client that reads: %v", err)
	case <-time.After(3 * writeTimeout):
	}
	if n := strings.Count(logs.String(), "closing a stalled websocket"); n != 1 {
		t.Errorf("%d websockets were closed as stalled, want 1 (only the one that stopped reading)", n)
	}
}

// newListingAPIWith is newListingAPI with more options.
func newListingAPIWith(t *testing.T, opts testOptions) (*testAPI, stepGate) {
	gate := make(stepGate)
	opts.executors = executorsOf(map[stepkind.Kind]engine.Executor{
		stepkind.CMAAnalysis: gate, stepkind.ListingStrategy: gate, stepkind.MarketingCampaign: gate, stepkind.SocialScheduling: gate,
	})
	return newTestAPI(t, opts), gate
}

// dialTinyBuffer opens a graphql-transport-ws connection whose socket has
// a receive buffer of a few kilobytes, so that a client that stops reading
// stalls the server's writes quickly.
func dialTinyBuffer(t *testing.T, ctx context.Context, baseURL string) *websocket.Conn {
	t.Helper()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(baseURL, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}, HTTPClient: tinyBufferClient()})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// tinyBufferClient is an HTTP client whose sockets have a receive buffer
// of a few kilobytes.
func tinyBufferClient() *http.Client {
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var sockErr error
		if err := c.Control(func(fd uintptr) {
			sockErr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); err != nil {
			return err
		}
		return sockErr
	}}
	return &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
}

// stallingSubscription is a runEvents subscription each of whose events
// carries every event of the run with its message 2,000 times over: about
// a megabyte per event, megabytes in all, more than a small receive buffer
// and the server's send buffer hold, for one query per event.
func stallingSubscription() string {
	var fields strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&fields, " m%d: message", i)
	}
	return `subscription($id: ID!) { runEvents(runId: $id, afterSeq: 0) { seq run { events(first: 100) { edges { node {` +
		fields.String() + ` } } } } } }`
}

// stalledListingAPI serves with a short write timeout, one streaming
// connection per token and no complexity bound, and has a finished run.
func stalledListingAPI(t *testing.T, logs *syncBuffer) (*testAPI, string) {
	t.Helper()
	api, gate := newListingAPIWith(t, testOptions{
		logger: slog.New(slog.NewTextHandler(logs, nil)),
		config: func(c *Config) {
			c.WSWriteTimeout = 300 * time.Millisecond
			c.MaxConnections = 1
			c.MaxComplexity = 1 << 30
		},
	})
	runID := startListingRun(t, api)
	close(gate)
	id, err := strconv.Atoi(runID)
	if err != nil {
		t.Fatal(err)
	}
	api.waitRun(t, id)
	return api, runID
}

// TestStalledSSEStreamIsClosed is TestStalledWebsocketIsClosed for SSE in
// distinct connections mode: the stalled stream's request ends, which
// frees the token's only streaming slot.
func TestStalledSSEStreamIsClosed(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	api, runID := stalledListingAPI(t, &logs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body, _ := json.Marshal(map[string]any{"query": stallingSubscription(), "variables": map[string]any{"id": runID}})
	req, _ := http.NewRequestWithContext(ctx, "POST", api.srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+api.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	stalled, err := tinyBufferClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Body.Close()
	if stalled.StatusCode != 200 {
		t.Fatalf("stream: %d", stalled.StatusCode)
	}
	// The client reads nothing; a new stream is refused (429) until the
	// server gives up on the stalled one.
	for {
		status, _, raw := sendWithin(t, 10*time.Second, "POST", api.srv.URL+"/graphql", api.token, `{"query": "{ viewer { role } }"}`,
			map[string]string{"Content-Type": "application/json", "Accept": "text/event-stream"})
		if status == http.StatusOK && strings.Contains(string(raw), "ADMIN") {
			break
		}
		if status != http.StatusTooManyRequests || ctx.Err() != nil {
			t.Fatalf("a new stream: %d %s", status, raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ackWebsocket(t *testing.T, ctx context.Context, conn *websocket.Conn, token string) {
	t.Helper()
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + token}}); err != nil {
		t.Fatal(err)
	}
	var ack struct{ Type string }
	if err := wsjson.Read(ctx, conn, &ack); err != nil || ack.Type != "connection_ack" {
		t.Fatalf("connection_ack: %v %+v", err, ack)
	}
}

// TestSSESingleConnectionMode follows graphql-sse's single connection
// mode over HTTP: PUT reserves a stream, GET with the token opens it, POSTs
// with the token start operations whose events arrive on the stream under
// their operationId, and DELETE stops one. A reservation answers only to
// the token that made it.
func TestSSESingleConnectionMode(t *testing.T) {
	t.Parallel()
	api, gate := newListingAPI(t)
	base := api.srv.URL + "/graphql"

	status, header, raw := send(t, "PUT", base, api.token, nil, nil)
	if status != http.StatusCreated || !strings.HasPrefix(header.Get("Content-Type"), "text/plain") || len(raw) < 20 {
		t.Fatalf("PUT: %d %s %q", status, header.Get("Content-Type"), raw)
	}
	streamToken := string(raw)
	withStream := func(h map[string]string) map[string]string {
		h["X-GraphQL-Event-Stream-Token"] = streamToken
		return h
	}

	// Another token cannot use the reservation.
	other, _ := rivalToken(t, api)
	if status, _, raw := send(t, "GET", base, other, nil, withStream(map[string]string{"Accept": "text/event-stream"})); status != http.StatusNotFound ||
		!strings.Contains(string(raw), "NOT_FOUND") {
		t.Fatalf("another token's GET: %d %s", status, raw)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base, nil)
	req.Header.Set("Authorization", "Bearer "+api.token)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("X-GraphQL-Event-Stream-Token", streamToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := readSSE(resp.Body)

	// Only one stream per reservation.
	if status, _, raw := send(t, "GET", base, api.token, nil, withStream(map[string]string{"Accept": "text/event-stream"})); status != http.StatusConflict {
		t.Fatalf("second GET: %d %s", status, raw)
	}

	post := func(opID, query string, vars map[string]any) (int, []byte) {
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars, "extensions": map[string]any{"operationId": opID}})
		status, _, raw := send(t, "POST", base, api.token, bytes.NewReader(body), withStream(map[string]string{"Content-Type": "application/json"}))
		return status, raw
	}
	if status, raw := post("", "{ viewer { role } }", nil); status != 400 || !strings.Contains(string(raw), "extensions.operationId") {
		t.Fatalf("POST without an operationId: %d %s", status, raw)
	}
	if status, raw := post("bad", "{ viewer { nope } }", nil); status != 200 || !strings.Contains(string(raw), "BAD_USER_INPUT") {
		t.Fatalf("POST of an invalid query: %d %s", status, raw)
	}

	// A query: one next event, then complete.
	if status, raw := post("q1", "{ viewer { role } }", nil); status != http.StatusAccepted {
		t.Fatalf("POST query: %d %s", status, raw)
	}
	ev := nextSSE(t, ctx, events)
	if ev.event != "next" || !strings.Contains(ev.data, `"id":"q1"`) || !strings.Contains(ev.data, `"role":"ADMIN"`) {
		t.Fatalf("query result: %+v", ev)
	}
	if ev := nextSSE(t, ctx, events); ev.event != "complete" || !strings.Contains(ev.data, `"id":"q1"`) {
		t.Fatalf("after the query: %+v", ev)
	}

	// Two subscriptions on one stream; one is stopped with DELETE, the
	// other follows its run to the end.
	runID := startListingRun(t, api)
	if status, raw := post("s1", runEventsSubscription, map[string]any{"id": runID}); status != http.StatusAccepted {
		t.Fatalf("POST s1: %d %s", status, raw)
	}
	if status, raw := post("s1", runEventsSubscription, map[string]any{"id": runID}); status != http.StatusConflict {
		t.Fatalf("a second s1: %d %s", status, raw)
	}
	if status, raw := post("s2", runEventsSubscription, map[string]any{"id": runID}); status != http.StatusAccepted {
		t.Fatalf("POST s2: %d %s", status, raw)
	}
	seen := map[string][]streamedEvent{}
	for len(seen["s1"]) == 0 || len(seen["s2"]) == 0 {
		id, e := runEventOf(t, nextSSE(t, ctx, events))
		seen[id] = append(seen[id], e)
	}
	if status, _, raw := send(t, "DELETE", base+"?operationId=s2", api.token, nil, withStream(map[string]string{})); status != 200 {
		t.Fatalf("DELETE: %d %s", status, raw)
	}
	close(gate)
	for {
		ev := nextSSE(t, ctx, events)
		if ev.event == "complete" {
			if !strings.Contains(ev.data, `"id":"s1"`) {
				t.Fatalf("complete for a stopped operation: %+v", ev)
			}
			break
		}
		id, e := runEventOf(t, ev)
		seen[id] = append(seen[id], e)
	}
	assertSameLog(t, seen["s1"], api.storedSeqs(t, runID))
	last := seen["s2"][len(seen["s2"])-1].Seq
	if all := api.storedSeqs(t, runID); last == all[len(all)-1].Seq {
		t.Fatalf("s2 received every event although it was stopped")
	}

	// Closing the stream ends the reservation.
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, raw := post("late", "{ viewer { role } }", nil)
		if status == http.StatusNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reservation outlived its stream: %d %s", status, raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type sseEvent struct{ event, data string }

// readSSE parses an event stream into events; comments (pings) are skipped.
func readSSE(body interface{ Read([]byte) (int, error) }) <-chan sseEvent {
	out := make(chan sseEvent, 64)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(body)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.event != "" || ev.data != "" {
					out <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event:"):
				ev.event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				ev.data += strings.TrimSpace(strings.TrimPrefix(line, "data:"))
			}
		}
	}()
	return out
}

func nextSSE(t *testing.T, ctx context.Context, events <-chan sseEvent) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("the event stream ended")
		}
		return ev
	case <-ctx.Done():
		t.Fatal("no event in time")
	}
	return sseEvent{}
}

// runEventOf decodes a single-connection next event of runEvents.
func runEventOf(t *testing.T, ev sseEvent) (string, streamedEvent) {
	t.Helper()
	var msg struct {
		ID      string `json:"id"`
		Payload struct {
			Data struct {
				RunEvents streamedEvent `json:"runEvents"`
			} `json:"data"`
			Errors []any `json:"errors"`
		} `json:"payload"`
	}
	if ev.event != "next" {
		t.Fatalf("want a next event, got %+v", ev)
	}
	if err := json.Unmarshal([]byte(ev.data), &msg); err != nil || len(msg.Payload.Errors) > 0 {
		t.Fatalf("event %+v: %v", ev, err)
	}
	return msg.ID, msg.Payload.Data.RunEvents
}

// TestSSEReservationsAreBounded: a reservation is authenticated like any
// request, and a token holds at most as many as it may open streams.
func TestSSEReservationsAreBounded(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{config: func(c *Config) { c.MaxConnections = 2 }})
	base := api.srv.URL + "/graphql"
	if status, _, raw := send(t, "PUT", base, "", nil, nil); status != http.StatusUnauthorized || !strings.Contains(string(raw), "UNAUTHENTICATED") {
		t.Fatalf("PUT without a token: %d %s", status, raw)
	}
	for i := range 2 {
		if status, _, raw := send(t, "PUT", base, api.token, nil, nil); status != http.StatusCreated {
			t.Fatalf("reservation %d: %d %s", i+1, status, raw)
		}
	}
	status, header, raw := send(t, "PUT", base, api.token, nil, nil)
	if status != http.StatusTooManyRequests || !strings.Contains(string(raw), "RATE_LIMITED") || !strings.HasPrefix(header.Get("Content-Type"), "application/json") {
		t.Fatalf("a third reservation: %d %s %s", status, header.Get("Content-Type"), raw)
	}
	// Another token has its own allowance.
	rival, _ := rivalToken(t, api)
	if status, _, raw := send(t, "PUT", base, rival, nil, nil); status != http.StatusCreated {
		t.Fatalf("another token's reservation: %d %s", status, raw)
	}
	// An unknown reservation token is NOT_FOUND, with a code.
	if status, _, raw := send(t, "POST", base, api.token, strings.NewReader(`{"query": "{ viewer { role } }", "extensions": {"operationId": "x"}}`),
		map[string]string{"Content-Type": "application/json", "X-GraphQL-Event-Stream-Token": "nope"}); status != http.StatusNotFound || !strings.Contains(string(raw), "NOT_FOUND") {
		t.Fatalf("unknown reservation: %d %s", status, raw)
	}
}
