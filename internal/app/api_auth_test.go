package app

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/ent/user"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	body := []byte(`{"query": "{ viewer { role user { email } organization { slug } } }"}`)
	for name, token := range map[string]string{
		"no token":        "",
		"malformed token": "hello",
		"unknown token":   "ef_" + strings.Repeat("a", 52),
	} {
		resp := api.postAs(token, "application/json", body)
		if resp.status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, resp.status)
		}
		resp.wantError(t, "UNAUTHENTICATED", "")
	}
	for _, path := range []string{"/healthz", "/readyz", "/"} {
		resp, err := http.Get(api.srv.URL + path)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s without a token: %v %v", path, resp.StatusCode, err)
		}
		resp.Body.Close()
	}
	var viewer struct {
		Viewer struct {
			Role string
			User struct{ Email string }
		} `json:"viewer"`
	}
	api.postAs(api.token, "application/json", body).ok(t, &viewer)
	if viewer.Viewer.Role != "ADMIN" || viewer.Viewer.User.Email != "admin@test.example" {
		t.Fatalf("viewer %+v", viewer)
	}
}

func TestTokenLifecycleAndRoles(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	var created struct {
		CreateAPIToken struct {
			Secret string
			Token  struct{ ID, Prefix, Name string }
		} `json:"createApiToken"`
	}
	api.do(`mutation { createApiToken(name: "frontend") { secret token { id prefix name } } }`, nil).ok(t, &created)
	secret := created.CreateAPIToken.Secret
	if !strings.HasPrefix(secret, created.CreateAPIToken.Token.Prefix) || created.CreateAPIToken.Token.Name != "frontend" {
		t.Fatalf("created %+v", created)
	}
	viewer := []byte(`{"query": "{ viewer { role } }"}`)
	api.postAs(secret, "application/json", viewer).ok(t, nil)
	api.do(`mutation { createApiToken(name: "x", expiresAt: "2000-01-01T00:00:00Z") { secret } }`, nil).wantError(t, "BAD_USER_INPUT", "expiresAt")

	// An AGENT works with data but does not manage tokens.
	agent, err := auth.EnsureUser(context.Background(), api.db.Client, "demo", "agent@test.example", user.RoleAGENT)
	if err != nil {
		t.Fatal(err)
	}
	agentSecret, _, err := api.authn.Issue(api.ctx(), api.db.Client, agent.ID, "agent", nil)
	if err != nil {
		t.Fatal(err)
	}
	api.postAs(agentSecret, "application/json", []byte(`{"query": "{ properties(first: 1) { totalCount } }"}`)).ok(t, nil)
	api.postAs(agentSecret, "application/json", []byte(`{"query": "mutation { createApiToken(name: \"mine\") { secret } }"}`)).wantError(t, "FORBIDDEN", "")

	// Expiry.
	soon := time.Now().Add(time.Second)
	expiring, _, err := api.authn.Issue(api.ctx(), api.db.Client, api.adminID, "short", &soon)
	if err != nil {
		t.Fatal(err)
	}
	api.postAs(expiring, "application/json", viewer).ok(t, nil)
	time.Sleep(time.Until(soon) + 50*time.Millisecond)
	if e := api.postAs(expiring, "application/json", viewer).wantError(t, "UNAUTHENTICATED", ""); !strings.Contains(e.Message, "expired") {
		t.Fatalf("expired token: %q", e.Message)
	}

	// Revocation, with a subscription open on the token.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(api.srv.URL, "http")+"/graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"AUTHORIZATION": "Bearer " + secret}}); err != nil {
		t.Fatal(err)
	}
	var ack struct{ Type string }
	if err := wsjson.Read(ctx, conn, &ack); err != nil || ack.Type != "connection_ack" {
		t.Fatalf("connection_ack: %v %+v", err, ack)
	}
	if err := wsjson.Write(ctx, conn, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "subscription { runsUpdated { id } }"}}); err != nil {
		t.Fatal(err)
	}
	var revoked struct {
		RevokeAPIToken struct{ RevokedAt *string } `json:"revokeApiToken"`
	}
	api.do(`mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }`, map[string]any{"id": created.CreateAPIToken.Token.ID}).ok(t, &revoked)
	if revoked.RevokeAPIToken.RevokedAt == nil {
		t.Fatal("revokedAt not set")
	}
	start := time.Now()
	for {
		var msg map[string]any
		if err := wsjson.Read(ctx, conn, &msg); err != nil {
			break // the server closed the connection
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the subscription outlived its token by %s", d)
	}
	api.postAs(secret, "application/json", viewer).wantError(t, "UNAUTHENTICATED", "")
}

func TestWebsocketWithoutTokenClosesWith4401(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	wsRefused(t, api.srv.URL, "")
}

func TestOtherOrganizationsTokenSeesNothing(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	var created struct {
		CreateClient struct{ ID string } `json:"createClient"`
	}
	api.do(`mutation { createClient(input: {name: "Private Person", email: "private@example.com"}) { id } }`, nil).ok(t, &created)
	rivalToken, _ := rivalToken(t, api)
	body := []byte(`{"query": "query($id: ID!) { node(id: $id) { id } }", "variables": {"id": "` + created.CreateClient.ID + `"}}`)
	api.postAs(rivalToken, "application/json", body).wantError(t, "NOT_FOUND", "id")
	var list struct {
		Clients struct{ TotalCount int } `json:"clients"`
	}
	api.postAs(rivalToken, "application/json", []byte(`{"query": "{ clients(first: 5) { totalCount } }"}`)).ok(t, &list)
	if list.Clients.TotalCount != 0 {
		t.Fatalf("the rival sees %d clients", list.Clients.TotalCount)
	}
}

func TestRateLimitPerToken(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	srv := serverWith(t, api, Config{RateLimit: 5})
	post := func(token string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", strings.NewReader(`{"query": "{ viewer { role } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 5 {
		if resp := post(api.token); resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, resp.StatusCode)
		}
	}
	resp := post(api.token)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Another token has its own budget.
	other, _, err := api.authn.Issue(api.ctx(), api.db.Client, api.adminID, "other", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp := post(other); resp.StatusCode != http.StatusOK {
		t.Fatalf("another token was limited too: %d", resp.StatusCode)
	}
	// The server stays responsive: health checks are not limited.
	if r, err := http.Get(srv.URL + "/healthz"); err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v", err)
	}
}

// initWebsocket opens a websocket and sends connection_init with the token;
// it returns the connection and the first message's type.
func initWebsocket(t *testing.T, ctx context.Context, baseURL, token string) (*websocket.Conn, error) {
	t.Helper()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(baseURL, "http")+"/graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + token}}); err != nil {
		t.Fatal(err)
	}
	var ack struct{ Type string }
	if err := wsjson.Read(ctx, conn, &ack); err != nil {
		return conn, err
	}
	if ack.Type != "connection_ack" {
		// A refusal sends connection_error, then closes.
		var next map[string]any
		return conn, wsjson.Read(ctx, conn, &next)
	}
	return conn, nil
}

func TestConnectionAndSubscriptionLimits(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	srv := serverWith(t, api, Config{MaxSubscriptions: 2})
	api.authn.MaxStreams = 2
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first, err := initWebsocket(t, ctx, srv.URL, api.token)
	if err != nil {
		t.Fatal(err)
	}
	defer first.CloseNow()
	second, err := initWebsocket(t, ctx, srv.URL, api.token)
	if err != nil {
		t.Fatal(err)
	}
	defer second.CloseNow()
	third, err := initWebsocket(t, ctx, srv.URL, api.token)
	defer third.CloseNow()
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != auth.CloseTooManyConnections {
		t.Fatalf("third connection: %v, want close code 4429", err)
	}

	// Two subscriptions on one connection are fine; a third is refused.
	for i, id := range []string{"1", "2", "3"} {
		if err := wsjson.Write(ctx, first, map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": "subscription { runsUpdated { id } }"}}); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			continue
		}
		for {
			var msg struct {
				ID      string          `json:"id"`
				Type    string          `json:"type"`
				Payload json.RawMessage `json:"payload"`
			}
			if err := wsjson.Read(ctx, first, &msg); err != nil {
				t.Fatal(err)
			}
			// The three start concurrently: whichever comes third is refused.
			if msg.Type != "next" {
				continue
			}
			if !strings.Contains(string(msg.Payload), "SUBSCRIPTION_LIMIT_EXCEEDED") {
				t.Fatalf("subscription %s: %s", msg.ID, msg.Payload)
			}
			return
		}
	}
}
