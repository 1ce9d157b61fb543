package app

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

// createToken issues a token through the API, expiring at expiresAt (zero:
// never), and returns its secret and ID.
func (a *testAPI) createToken(t *testing.T, name string, expiresAt time.Time) (secret, id string) {
	t.Helper()
	vars := map[string]any{"name": name}
	if !expiresAt.IsZero() {
		vars["at"] = expiresAt.Format(time.RFC3339Nano)
	}
	var created struct {
		CreateAPIToken struct {
			Secret string
			Token  struct{ ID string }
		} `json:"createApiToken"`
	}
	a.do(`mutation($name: String!, $at: Time) { createApiToken(name: $name, expiresAt: $at) { secret token { id } } }`, vars).ok(t, &created)
	return created.CreateAPIToken.Secret, created.CreateAPIToken.Token.ID
}

// openTokenWebsocket opens a graphql-transport-ws connection for secret,
// authenticated in connection_init or, with inHeader, by the upgrade
// request's Authorization header, and subscribes to runsUpdated.
func openTokenWebsocket(t *testing.T, ctx context.Context, baseURL, secret string, inHeader bool) *websocket.Conn {
	t.Helper()
	opts := &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}}
	payload := map[string]any{"Authorization": "Bearer " + secret}
	if inHeader {
		opts.HTTPHeader = http.Header{"Authorization": {"Bearer " + secret}}
		payload = map[string]any{}
	}
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(baseURL, "http")+"/graphql", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": payload}); err != nil {
		t.Fatal(err)
	}
	var ack struct{ Type string }
	if err := wsjson.Read(ctx, conn, &ack); err != nil || ack.Type != "connection_ack" {
		t.Fatalf("connection_ack: %v %+v", err, ack)
	}
	subscribeRuns(ctx, conn, "1")
	return conn
}

func subscribeRuns(ctx context.Context, conn *websocket.Conn, id string) error {
	return wsjson.Write(ctx, conn, map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": "subscription { runsUpdated { id status } }"}})
}

// readUntilClosed reads conn until the server closes it and returns the
// close error and the run updates received after since.
func readUntilClosed(t *testing.T, ctx context.Context, conn *websocket.Conn, since time.Time) (websocket.CloseError, int) {
	t.Helper()
	late := 0
	for {
		var msg struct{ Type string }
		err := wsjson.Read(ctx, conn, &msg)
		if err == nil {
			if msg.Type == "next" && time.Now().After(since) {
				late++
			}
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("the connection was not closed by the server: %v (%d updates after the token ended)", err, late)
		}
		return ce, late
	}
}

// TestExpiredTokenEndsItsWebsockets: a token that expires while its
// websockets are open ends them within seconds, with 4401 and the reason,
// whether the connection authenticated in connection_init or in the
// upgrade request; a subscribe sent after the expiry delivers nothing.
func TestExpiredTokenEndsItsWebsockets(t *testing.T) {
	t.Parallel()
	gate := make(stepGate) // the runs stay RUNNING; their updates are what matters
	api := newTestAPI(t, testOptions{shutdownGrace: 100 * time.Millisecond, executors: executorsOf(map[stepkind.Kind]engine.Executor{
		stepkind.CMAAnalysis: gate, stepkind.ListingStrategy: gate, stepkind.MarketingCampaign: gate, stepkind.SocialScheduling: gate,
	})})
	expiresAt := time.Now().Add(1500 * time.Millisecond)
	secret, _ := api.createToken(t, "short-lived", expiresAt)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inInit := openTokenWebsocket(t, ctx, api.srv.URL, secret, false)
	inHeader := openTokenWebsocket(t, ctx, api.srv.URL, secret, true)

	time.Sleep(time.Until(expiresAt) + 200*time.Millisecond)
	// After the expiry: a new subscription, and runs that would feed it.
	_ = subscribeRuns(ctx, inInit, "2")
	_ = subscribeRuns(ctx, inHeader, "2")
	startListingRun(t, api)
	startListingRun(t, api)

	readCtx, stop := context.WithDeadline(ctx, expiresAt.Add(5*time.Second))
	defer stop()
	for name, conn := range map[string]*websocket.Conn{"connection_init": inInit, "upgrade header": inHeader} {
		ce, late := readUntilClosed(t, readCtx, conn, expiresAt)
		if ce.Code != auth.CloseUnauthenticated || !strings.Contains(ce.Reason, "expired") {
			t.Errorf("%s: closed with %d %q, want 4401 saying the token expired", name, ce.Code, ce.Reason)
		}
		if late > 0 {
			t.Errorf("%s: %d run updates delivered after the token expired", name, late)
		}
	}
}

// TestRevokedTokenClosesItsWebsocketsWith4401: revocation ends the token's
// connections with 4401, not 1000 "terminated", which a client would take
// for a normal goodbye and reconnect with the same token.
func TestRevokedTokenClosesItsWebsocketsWith4401(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	secret, id := api.createToken(t, "soon revoked", time.Time{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inInit := openTokenWebsocket(t, ctx, api.srv.URL, secret, false)
	inHeader := openTokenWebsocket(t, ctx, api.srv.URL, secret, true)
	api.do(`mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`, map[string]any{"id": id}).ok(t, nil)
	revokedAt := time.Now()
	readCtx, stop := context.WithTimeout(ctx, 5*time.Second)
	defer stop()
	for name, conn := range map[string]*websocket.Conn{"connection_init": inInit, "upgrade header": inHeader} {
		ce, _ := readUntilClosed(t, readCtx, conn, revokedAt)
		if ce.Code != auth.CloseUnauthenticated || !strings.Contains(ce.Reason, "revoked") {
			t.Errorf("%s: closed with %d %q, want 4401 saying the token was revoked", name, ce.Code, ce.Reason)
		}
	}
}

// TestExpiredTokenEndsItsSSEStreams: an SSE stream ends at its token's
// expiry too, and carries no event after it.
func TestExpiredTokenEndsItsSSEStreams(t *testing.T) {
	t.Parallel()
	gate := make(stepGate)
	api := newTestAPI(t, testOptions{shutdownGrace: 100 * time.Millisecond, executors: executorsOf(map[stepkind.Kind]engine.Executor{
		stepkind.CMAAnalysis: gate, stepkind.ListingStrategy: gate, stepkind.MarketingCampaign: gate, stepkind.SocialScheduling: gate,
	})})
	runID := startListingRun(t, api)
	expiresAt := time.Now().Add(1500 * time.Millisecond)
	secret, _ := api.createToken(t, "short-lived", expiresAt)
	ctx, cancel := context.WithDeadline(context.Background(), expiresAt.Add(5*time.Second))
	defer cancel()
	late := 0
	go func() {
		// After the expiry, the run moves on.
		time.Sleep(time.Until(expiresAt) + 200*time.Millisecond)
		select {
		case gate <- struct{}{}:
		case <-ctx.Done():
		}
	}()
	sseStream(t, ctx, api.srv.URL, secret, runID, nil, func(streamedEvent) bool {
		if time.Now().After(expiresAt) {
			late++
		}
		return true
	})
	if ctx.Err() != nil {
		t.Fatalf("the SSE stream outlived its token by 5s (%d events after the expiry)", late)
	}
	if late > 0 {
		t.Fatalf("%d events after the token expired", late)
	}
}
