package app

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

// stepGate lets a test decide when each step of a run finishes.
type stepGate chan struct{}

func (g stepGate) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	sc.Progress(0.5, "working")
	select {
	case <-g:
		return map[string]any{"done": sc.StepKey}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type streamedEvent struct {
	Seq     int     `json:"seq"`
	Type    string  `json:"type"`
	StepKey *string `json:"stepKey"`
}

const runEventsSubscription = `subscription($id: ID!, $after: Int) { runEvents(runId: $id, afterSeq: $after) { seq type stepKey } }`

// startListingRun starts the built-in new-listing package on a new
// property through the API.
func startListingRun(t *testing.T, api *testAPI) string {
	t.Helper()
	var created struct {
		CreateProperty struct {
			ID string `json:"id"`
		} `json:"createProperty"`
		Packages struct {
			Edges []struct {
				Node struct {
					ID string `json:"id"`
				} `json:"node"`
			} `json:"edges"`
		} `json:"packages"`
	}
	api.do(`mutation { createProperty(input: {city: "Austin", latitude: 30.25, longitude: -97.75, listPrice: 600000}) { id } }`, nil).ok(t, &created)
	api.do(`{ packages(first: 1, where: {key: "new-listing"}) { edges { node { id } } } }`, nil).ok(t, &created)
	var started struct {
		StartRun struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"startRun"`
	}
	api.do(`mutation($pkg: ID!, $prop: ID!) { startRun(input: {packageId: $pkg, propertyId: $prop, params: {budget: 2500}}) { id status } }`,
		map[string]any{"pkg": created.Packages.Edges[0].Node.ID, "prop": created.CreateProperty.ID}).ok(t, &started)
	return started.StartRun.ID
}

func (a *testAPI) storedSeqs(t *testing.T, runID string) []streamedEvent {
	t.Helper()
	var out struct {
		Node struct {
			Events struct {
				Edges []struct {
					Node streamedEvent `json:"node"`
				} `json:"edges"`
			} `json:"events"`
		} `json:"node"`
	}
	a.do(`query($id: ID!) { node(id: $id) { ... on Run { events(first: 100, orderBy: {field: SEQ}) { edges { node { seq type stepKey } } } } } }`,
		map[string]any{"id": runID}).ok(t, &out)
	var evs []streamedEvent
	for _, e := range out.Node.Events.Edges {
		evs = append(evs, e.Node)
	}
	return evs
}

// wsSubscription is a graphql-transport-ws client.
type wsSubscription struct {
	conn *websocket.Conn
}

func dialSubscription(t *testing.T, ctx context.Context, baseURL, token, protocol, query string, vars map[string]any) *wsSubscription {
	t.Helper()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(baseURL, "http")+"/graphql", &websocket.DialOptions{Subprotocols: []string{protocol}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + token}}); err != nil {
		t.Fatal(err)
	}
	var ack struct{ Type string }
	if err := wsjson.Read(ctx, conn, &ack); err != nil || ack.Type != "connection_ack" {
		t.Fatalf("connection_ack: %v %+v", err, ack)
	}
	start := "subscribe"
	if protocol == "graphql-ws" {
		start = "start"
	}
	if err := wsjson.Write(ctx, conn, map[string]any{"id": "1", "type": start, "payload": map[string]any{"query": query, "variables": vars}}); err != nil {
		t.Fatal(err)
	}
	return &wsSubscription{conn: conn}
}

// next returns the next event, or nil when the server completes the stream.
func (s *wsSubscription) next(t *testing.T, ctx context.Context) *streamedEvent {
	t.Helper()
	for {
		var msg struct {
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
		}
		if err := wsjson.Read(ctx, s.conn, &msg); err != nil {
			t.Fatalf("read: %v", err)
		}
		switch msg.Type {
		case "ka", "ping", "pong":
			continue
		case "complete":
			return nil
		case "next", "data":
			var p struct {
				Data struct {
					RunEvents streamedEvent `json:"runEvents"`
				} `json:"data"`
				Errors []any `json:"errors"`
			}
			if err := json.Unmarshal(msg.Payload, &p); err != nil || len(p.Errors) > 0 {
				t.Fatalf("payload %s: %v", msg.Payload, err)
			}
			return &p.Data.RunEvents
		default:
			t.Fatalf("unexpected message %s: %s", msg.Type, msg.Payload)
		}
	}
}

func assertSameLog(t *testing.T, streamed, stored []streamedEvent) {
	t.Helper()
	if len(streamed) != len(stored) {
		t.Fatalf("streamed %d events, stored %d:\nstreamed %v\nstored   %v", len(streamed), len(stored), streamed, stored)
	}
	for i := range stored {
		if streamed[i].Seq != stored[i].Seq || streamed[i].Type != stored[i].Type {
			t.Fatalf("event %d: streamed %+v, stored %+v", i, streamed[i], stored[i])
		}
	}
	if last := streamed[len(streamed)-1].Type; last != "RUN_SUCCEEDED" {
		t.Fatalf("stream ended on %s", last)
	}
}

func newListingAPI(t *testing.T) (*testAPI, stepGate) {
	gate := make(stepGate)
	api := newTestAPI(t, testOptions{executors: executorsOf(map[stepkind.Kind]engine.Executor{
		stepkind.CMAAnalysis: gate, stepkind.ListingStrategy: gate, stepkind.MarketingCampaign: gate, stepkind.SocialScheduling: gate,
	})})
	return api, gate
}

// TestRunEventsOverWebsocket follows a 4-step run over graphql-transport-ws,
// disconnects mid-run, resumes with afterSeq, and compares the union of the
// two streams with the stored log.
func TestRunEventsOverWebsocket(t *testing.T) {
	t.Parallel()
	api, gate := newListingAPI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runID := startListingRun(t, api)

	sub := dialSubscription(t, ctx, api.srv.URL, api.token, "graphql-transport-ws", runEventsSubscription, map[string]any{"id": runID})
	var streamed []streamedEvent
	for len(streamed) < 4 { // queued, started, cma started, cma progress…
		streamed = append(streamed, *sub.next(t, ctx))
	}
	gate <- struct{}{} // cma succeeds
	for streamed[len(streamed)-1].Type != "STEP_STARTED" || *streamed[len(streamed)-1].StepKey != "strategy" {
		streamed = append(streamed, *sub.next(t, ctx))
	}
	sub.conn.Close(websocket.StatusNormalClosure, "going away mid-run")

	gate <- struct{}{} // strategy succeeds while nobody listens
	resumed := dialSubscription(t, ctx, api.srv.URL, api.token, "graphql-transport-ws", runEventsSubscription,
		map[string]any{"id": runID, "after": streamed[len(streamed)-1].Seq})
	gate <- struct{}{}
	gate <- struct{}{}
	for {
		ev := resumed.next(t, ctx)
		if ev == nil {
			break
		}
		streamed = append(streamed, *ev)
	}
	resumed.conn.Close(websocket.StatusNormalClosure, "")
	assertSameLog(t, streamed, api.storedSeqs(t, runID))
}

// TestRunEventsOverLegacyGraphQLWS checks the older graphql-ws protocol.
func TestRunEventsOverLegacyGraphQLWS(t *testing.T) {
	t.Parallel()
	api, gate := newListingAPI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runID := startListingRun(t, api)
	sub := dialSubscription(t, ctx, api.srv.URL, api.token, "graphql-ws", runEventsSubscription, map[string]any{"id": runID})
	defer sub.conn.Close(websocket.StatusNormalClosure, "")
	go func() {
		for range 4 {
			select {
			case gate <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var streamed []streamedEvent
	for {
		ev := sub.next(t, ctx)
		if ev == nil {
			break
		}
		streamed = append(streamed, *ev)
	}
	assertSameLog(t, streamed, api.storedSeqs(t, runID))
}

// sseStream reads runEvents over server-sent events.
func sseStream(t *testing.T, ctx context.Context, baseURL, token, runID string, after *int, each func(streamedEvent) bool) {
	t.Helper()
	vars := map[string]any{"id": runID}
	if after != nil {
		vars["after"] = *after
	}
	body, _ := json.Marshal(map[string]any{"query": runEventsSubscription, "variables": vars})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	event := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
			if event == "complete" {
				return
			}
		case strings.HasPrefix(line, "data: ") && event == "next":
			var p struct {
				Data struct {
					RunEvents streamedEvent `json:"runEvents"`
				} `json:"data"`
				Errors []any `json:"errors"`
			}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &p); err != nil || len(p.Errors) > 0 {
				t.Fatalf("SSE payload %q: %v", line, err)
			}
			if !each(p.Data.RunEvents) {
				return
			}
		}
	}
	if ctx.Err() == nil && sc.Err() != nil {
		t.Fatalf("SSE read: %v", sc.Err())
	}
}

// TestRunEventsOverSSE runs the same disconnect-and-resume check over SSE.
func TestRunEventsOverSSE(t *testing.T) {
	t.Parallel()
	api, gate := newListingAPI(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runID := startListingRun(t, api)

	var streamed []streamedEvent
	firstCtx, disconnect := context.WithCancel(ctx)
	released := false
	sseStream(t, firstCtx, api.srv.URL, api.token, runID, nil, func(ev streamedEvent) bool {
		streamed = append(streamed, ev)
		if !released && ev.Type == "STEP_STARTED" {
			released = true
			gate <- struct{}{} // cma succeeds
		}
		return !(ev.Type == "STEP_STARTED" && *ev.StepKey == "strategy")
	})
	disconnect()
	gate <- struct{}{}
	last := streamed[len(streamed)-1].Seq
	go func() {
		for range 2 {
			select {
			case gate <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	sseStream(t, ctx, api.srv.URL, api.token, runID, &last, func(ev streamedEvent) bool {
		streamed = append(streamed, ev)
		return true
	})
	assertSameLog(t, streamed, api.storedSeqs(t, runID))
}
