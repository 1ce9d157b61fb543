package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// serverWith serves the test API's database and engine with another
// configuration.
func serverWith(t *testing.T, api *testAPI, cfg Config) *httptest.Server {
	t.Helper()
	cfg.MaxBodyBytes = 1 << 20
	if cfg.RateLimit == 0 {
		cfg.RateLimit = 1 << 20
	}
	srv := httptest.NewServer(newRoutes(api.db, api.engine, api.authn, api.metrics, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	return srv
}

func TestCORSAllowList(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	srv := serverWith(t, api, Config{CORSOrigins: "https://app.example.com"})
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/graphql", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type") // as browsers send them: sorted, lower case
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for origin, allowed := range map[string]bool{
		"https://app.example.com":              true,  // configured
		"http://localhost:5173":                true,  // local development
		"http://127.0.0.1:3000":                true,  // local development
		"https://evil.example":                 false, // anything else
		"https://app.example.com.evil.example": false,
	} {
		resp := preflight(origin)
		got := resp.Header.Get("Access-Control-Allow-Origin")
		if allowed && got != origin {
			t.Errorf("%s: preflight answered %d with Allow-Origin %q, want it allowed", origin, resp.StatusCode, got)
		}
		if !allowed && got != "" {
			t.Errorf("%s: allowed (%q), want refused", origin, got)
		}
	}

	dial := func(origin string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h := http.Header{}
		h.Set("Origin", origin)
		conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/graphql",
			&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: h})
		if err == nil {
			conn.Close(websocket.StatusNormalClosure, "")
		}
		return err
	}
	if err := dial("https://app.example.com"); err != nil {
		t.Errorf("websocket from the allowed origin: %v", err)
	}
	if err := dial("https://evil.example"); err == nil {
		t.Error("websocket from another origin was accepted")
	}
}

func TestPersistedQueriesAndIntrospectionSwitch(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	post := func(srv *httptest.Server, body map[string]any) gqlResponse {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+api.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out gqlResponse
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	on := serverWith(t, api, Config{Introspection: true})
	const query = `{ packages(first: 1) { totalCount } }`
	sum := sha256.Sum256([]byte(query))
	persisted := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}
	if r := post(on, map[string]any{"extensions": persisted}); len(r.Errors) == 0 || r.Errors[0].Message != "PersistedQueryNotFound" {
		t.Fatalf("unknown hash: %+v", r)
	}
	post(on, map[string]any{"query": query, "extensions": persisted}).ok(t, nil)
	var byHash struct {
		Packages struct{ TotalCount int } `json:"packages"`
	}
	post(on, map[string]any{"extensions": persisted}).ok(t, &byHash)
	if byHash.Packages.TotalCount != 3 { // the built-in packages
		t.Fatalf("persisted query answered %+v", byHash)
	}

	post(on, map[string]any{"query": `{ __schema { queryType { name } } }`}).ok(t, nil)
	off := serverWith(t, api, Config{Introspection: false})
	post(off, map[string]any{"query": `{ __schema { queryType { name } } }`}).wantError(t, "FORBIDDEN", "")
}
