package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	runstatus "github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/user"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/metrics"
	"github.com/estateflow/estateflow/modules"
	"github.com/estateflow/estateflow/modules/webhooks"
	"github.com/estateflow/estateflow/tenant"
)

// testAPI is the real HTTP handler, built by New, over a fresh database.
type testAPI struct {
	t       testing.TB
	db      *database.DB
	srv     *httptest.Server
	engine  *engine.Engine
	authn   *auth.Authenticator
	metrics *metrics.Metrics
	token   string // an ADMIN's token of the test organization
	adminID int
	orgID   int
	queries atomic.Int64 // SQL statements sent, counted by the driver
	close   func()       // closes the App (once); the test's cleanup calls it too
}

// testOptions adjust newTestAPI for a test. The zero value serves the
// built-in packages, without demo data, with every module's executors.
type testOptions struct {
	demo   bool                                // fill the database with the demo data, as `go run .` does
	logger *slog.Logger                        // nil: logs are discarded
	driver func(dialect.Driver) dialect.Driver // wraps the database driver
	// executors replace the modules' executors of their kinds; they are
	// built on the App's ent client (see executorsOf for fixed ones).
	executors func(*ent.Client) map[stepkind.Kind]engine.Executor
	// Engine timings: zero keeps the tests' fast progress writes (20ms)
	// and the engine's own shutdown grace. Retries always back off 10ms.
	progressInterval, shutdownGrace time.Duration
	config                          func(*Config)           // server settings beyond the tests' defaults
	webhooks                        func(*webhooks.Handler) // webhook delivery settings (backoff, attempts)
	// now, when set, is the engine's clock (and River's), and the sweep
	// of lost timers runs every 100ms, so that tests can let days pass.
	now func() time.Time
	// clock, when set, is the engine's clock for periodic work; the engine
	// then ticks once at start and otherwise when the test calls
	// TickPeriodic.
	clock engine.Clock
	dbURL string // a database another testAPI used: "" opens a fresh one
	// uncounted leaves out the driver that counts queries (api.queries):
	// it formats every statement with its arguments, which benchmarks of
	// the server's own cost must not pay.
	uncounted bool
}

func newTestAPI(t testing.TB, opts testOptions) *testAPI {
	t.Helper()
	api := &testAPI{t: t}
	dbURL := opts.dbURL
	if dbURL == "" {
		dbURL = testdb.URL(t)
	}
	logger := opts.logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg := Config{
		DatabaseURL: dbURL,
		// Test packages run side by side on one PostgreSQL server.
		DBMaxConns:   8,
		Demo:         opts.demo,
		MaxBodyBytes: 64 << 10,
		RateLimit:    1 << 20, // tests poll; the limit has its own test
		RiverListen:  true,
	}
	cfg.tests = testHooks{
		logger: logger,
		driver: func(d dialect.Driver) dialect.Driver {
			if opts.driver != nil {
				d = opts.driver(d)
			}
			if opts.uncounted {
				return d
			}
			return dialect.DebugWithContext(d, func(context.Context, ...any) { api.queries.Add(1) })
		},
		engine: func(c *engine.Config) {
			c.BackoffBase, c.ProgressInterval, c.ShutdownGrace = 10*time.Millisecond, 20*time.Millisecond, opts.shutdownGrace
			if opts.progressInterval > 0 {
				c.ProgressInterval = opts.progressInterval
			}
			if opts.now != nil {
				c.Now, c.SweepInterval = opts.now, 100*time.Millisecond
			}
			if opts.clock != nil {
				c.Now, c.PeriodicInterval = opts.clock.Now, 24*time.Hour
			}
			if opts.executors != nil {
				// Stub executors stand in for the modules and read params
				// the modules do not declare (budget, fail, n): only the
				// subject is checked for them.
				c.CheckStart = func(ctx context.Context, sc engine.StartCheck) error {
					return modules.CheckSubject(ctx, api.db.Client, sc.Subject)
				}
			}
		},
		executors: opts.executors,
		webhooks:  opts.webhooks,
	}
	if opts.config != nil {
		opts.config(&cfg)
	}
	a, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	api.db, api.engine, api.authn, api.orgID = a.db, a.engine, a.authn, a.boot.Org.ID
	api.metrics = a.metrics
	admin, err := auth.EnsureUser(context.Background(), api.db.Client, a.boot.Org.Slug, "admin@test.example", user.RoleADMIN)
	if err != nil {
		t.Fatal(err)
	}
	api.adminID = admin.ID
	if api.token, _, err = api.authn.Issue(api.ctx(), api.db.Client, admin.ID, "test", nil); err != nil {
		t.Fatal(err)
	}
	// On PostgreSQL the LISTEN connection comes up in the background;
	// /readyz says not ready until it has, as it should.
	for deadline := time.Now().Add(10 * time.Second); api.engine.Ready() != nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("engine not ready: %v", api.engine.Ready())
		}
	}
	api.srv = httptest.NewServer(a.Handler())
	var once sync.Once
	api.close = func() {
		once.Do(func() {
			api.srv.CloseClientConnections()
			api.srv.Close()
			if err := a.Close(); err != nil {
				t.Errorf("closing the app: %v", err)
			}
		})
	}
	t.Cleanup(api.close)
	return api
}

// executorsOf is testOptions.executors for executors that need no client.
func executorsOf(m map[stepkind.Kind]engine.Executor) func(*ent.Client) map[stepkind.Kind]engine.Executor {
	return func(*ent.Client) map[stepkind.Kind]engine.Executor { return m }
}

// waitRun polls the database until the run is in one of the statuses
// (with none given, any final one) and returns it.
func (a *testAPI) waitRun(t testing.TB, runID int, want ...runstatus.Status) *ent.Run {
	t.Helper()
	if len(want) == 0 {
		want = []runstatus.Status{runstatus.StatusSUCCEEDED, runstatus.StatusFAILED, runstatus.StatusCANCELED}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := a.db.Client.Run.Get(a.ctx(), runID)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(want, r.Status) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d is %s, want %v", runID, r.Status, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ctx acts for the test organization, for direct ent calls.
func (a *testAPI) ctx() context.Context {
	return tenant.NewContext(context.Background(), tenant.Viewer{OrgID: a.orgID, UserID: a.adminID, Role: tenant.RoleAdmin})
}

func (a *testAPI) ent() *ent.Client { return a.db.Client }

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type gqlResponse struct {
	status int
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

// do posts a GraphQL operation and decodes the response.
func (a *testAPI) do(query string, vars map[string]any) gqlResponse {
	a.t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		a.t.Fatal(err)
	}
	return a.post("application/json", body)
}

func (a *testAPI) post(contentType string, body []byte) gqlResponse {
	a.t.Helper()
	return a.postAs(a.token, contentType, body)
}

// postAs posts with a given token ("" for none).
func (a *testAPI) postAs(token, contentType string, body []byte) gqlResponse {
	a.t.Helper()
	return a.postWith(a.t, token, contentType, body)
}

// postWith reports failures to t, which fuzz targets need: each input has its
// own *testing.T, apart from the one that built the API.
func (a *testAPI) postWith(t testing.TB, token, contentType string, body []byte) gqlResponse {
	t.Helper()
	status, _, raw := send(t, http.MethodPost, a.srv.URL+"/graphql", token, bytes.NewReader(body), map[string]string{"Content-Type": contentType})
	out := gqlResponse{status: status}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("response is not JSON (%d): %s", status, raw)
	}
	return out
}

// send makes one HTTP request with a bearer token ("" for none) and the
// given headers, and returns the whole response.
func send(t testing.TB, method, url, token string, body io.Reader, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	return sendContext(context.Background(), t, method, url, token, body, header)
}

// sendContext is send, ending with ctx.
func sendContext(ctx context.Context, t testing.TB, method, url, token string, body io.Reader, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, raw
}

// ok fails the test unless r has no errors, then decodes its data into v.
func (r gqlResponse) ok(t testing.TB, v any) {
	t.Helper()
	if len(r.Errors) > 0 {
		t.Fatalf("unexpected errors: %+v", r.Errors)
	}
	if v != nil {
		if err := json.Unmarshal(r.Data, v); err != nil {
			t.Fatalf("decoding %s: %v", r.Data, err)
		}
	}
}

// wantError fails the test unless r's first error has the code, and (when
// field is not empty) the field.
func (r gqlResponse) wantError(t *testing.T, code, field string) gqlError {
	t.Helper()
	if len(r.Errors) == 0 {
		t.Fatalf("want a %s error, got data %s", code, r.Data)
	}
	e := r.Errors[0]
	if e.Extensions["code"] != code {
		t.Fatalf("want code %s, got %+v", code, r.Errors)
	}
	if field != "" && e.Extensions["field"] != field {
		t.Fatalf("want field %q, got %+v", field, e)
	}
	for _, leak := range []string{"SELECT", "INSERT", "UPDATE ", "pq:", "sqlite", "goroutine", ".go:"} {
		if strings.Contains(e.Message, leak) {
			t.Fatalf("error message leaks internals (%q): %s", leak, e.Message)
		}
	}
	return e
}

// count returns how many rows of a kind exist, bypassing the API.
func (a *testAPI) count(kind string) int {
	a.t.Helper()
	ctx := a.ctx()
	var (
		n   int
		err error
	)
	switch kind {
	case "property":
		n, err = a.ent().Property.Query().Count(ctx)
	case "client":
		n, err = a.ent().Contact.Query().Count(ctx)
	case "package":
		n, err = a.ent().WorkflowPackage.Query().Count(ctx)
	case "step":
		n, err = a.ent().PackageStep.Query().Count(ctx)
	case "interaction":
		n, err = a.ent().Interaction.Query().Count(ctx)
	default:
		a.t.Fatalf("unknown kind %q", kind)
	}
	if err != nil {
		a.t.Fatal(err)
	}
	return n
}

// rivalToken makes a second organization with an admin and returns a token
// of it and a context acting for it.
func rivalToken(t *testing.T, api *testAPI) (string, context.Context) {
	t.Helper()
	rival, err := auth.EnsureUser(context.Background(), api.db.Client, "rival", "boss@rival.example", user.RoleADMIN)
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: rival.OrganizationID, UserID: rival.ID, Role: tenant.RoleAdmin})
	token, _, err := api.authn.Issue(ctx, api.db.Client, rival.ID, "rival", nil)
	if err != nil {
		t.Fatal(err)
	}
	return token, ctx
}

// wsRefused opens a websocket that authenticates in connection_init with
// the given Authorization value ("" sends none) and expects it to be closed
// with 4401.
func wsRefused(t *testing.T, baseURL, authorization string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(baseURL, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	payload := map[string]any{}
	if authorization != "" {
		payload["Authorization"] = authorization
	}
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": payload}); err != nil {
		t.Fatal(err)
	}
	for {
		var msg map[string]any
		err := wsjson.Read(ctx, conn, &msg)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != auth.CloseUnauthenticated {
			t.Fatalf("closed with %v, want close code 4401", err)
		}
		return
	}
}
