package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/internal/testdb"
)

// TestServeDemoAndShutdown starts the real server on a fresh database, as
// `go run .` does, checks the demo data, the playground and the health
// check, then stops it the way SIGTERM does.
func TestServeDemoAndShutdown(t *testing.T) {
	t.Parallel()
	token, _, _ := auth.NewSecret()
	cfg := Config{DatabaseURL: testdb.URL(t), DBMaxConns: 8, Demo: true, MaxBodyBytes: 1 << 20, AdminToken: token, Introspection: true, RiverListen: true}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer a.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	base := "http://" + ln.Addr().String()

	body := `{"query": "{ properties(first: 20, orderBy: {field: LIST_PRICE, direction: DESC}, where: {city: \"Austin\"}) { totalCount edges { node { city listPrice } } } clients(first: 1) { totalCount } packages(first: 5) { edges { node { key } } } }"}`
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Data struct {
			Properties struct {
				TotalCount int `json:"totalCount"`
				Edges      []struct {
					Node struct {
						City      string `json:"city"`
						ListPrice int    `json:"listPrice"`
					} `json:"node"`
				} `json:"edges"`
			} `json:"properties"`
			Clients struct {
				TotalCount int `json:"totalCount"`
			} `json:"clients"`
			Packages struct {
				Edges []struct {
					Node struct {
						Key string `json:"key"`
					} `json:"node"`
				} `json:"edges"`
			} `json:"packages"`
		} `json:"data"`
		Errors []any `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Errors) > 0 {
		t.Fatalf("query: %v %v", err, out.Errors)
	}
	resp.Body.Close()
	props := out.Data.Properties
	if props.TotalCount < 200 || len(props.Edges) != 20 || out.Data.Clients.TotalCount != 50 || len(out.Data.Packages.Edges) != 3 {
		t.Fatalf("demo data: %d properties (%d on the page), %d clients, %d packages",
			props.TotalCount, len(props.Edges), out.Data.Clients.TotalCount, len(out.Data.Packages.Edges))
	}
	for i := 1; i < len(props.Edges); i++ {
		if props.Edges[i].Node.ListPrice > props.Edges[i-1].Node.ListPrice || props.Edges[i].Node.City != "Austin" {
			t.Fatalf("page not ordered by listPrice desc or not filtered by city: %+v", props.Edges)
		}
	}

	for path, want := range map[string]string{
		"/":                                  "graphiql",
		"/healthz":                           "ok",
		"/playground/assets/graphiql.min.js": "GraphiQL",
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(want)) {
			t.Errorf("GET %s: %d, body without %q", path, resp.StatusCode, want)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not shut down")
	}
}

// TestNewPrintsTheAdminTokenOnce checks that a new admin token goes to
// Config.Stderr (not the process's), once, and works.
func TestNewPrintsTheAdminTokenOnce(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	var first, second syncBuffer // the logger writes to Stderr from the engine's goroutines too
	a, err := New(context.Background(), Config{DatabaseURL: url, DBMaxConns: 8, Stderr: &first, MaxBodyBytes: 1 << 20, RateLimit: 1 << 20, RiverListen: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	secret := regexp.MustCompile(auth.SecretPrefix + `[A-Za-z0-9]+`).FindString(first.String())
	if !strings.Contains(first.String(), "admin token (shown once") || secret == "" {
		t.Fatalf("Stderr got no admin token:\n%s", first.String())
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", strings.NewReader(`{"query": "{ viewer { role } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"ADMIN"`) {
		t.Fatalf("the printed token does not act as the admin: %d %s", resp.StatusCode, body)
	}

	again, err := New(context.Background(), Config{DatabaseURL: url, DBMaxConns: 8, Stderr: &second, RiverListen: true})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if strings.Contains(second.String(), auth.SecretPrefix) {
		t.Fatalf("a restart printed another token:\n%s", second.String())
	}
}
