package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
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
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/user"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/modules"
	"github.com/estateflow/estateflow/modules/spec"
	"github.com/estateflow/estateflow/seed"
	"github.com/estateflow/estateflow/tenant"
)

// testAPI is the real HTTP handler of server.go over a fresh database.
type testAPI struct {
	t       testing.TB
	db      *database.DB
	srv     *httptest.Server
	engine  *engine.Engine
	authn   *auth.Authenticator
	token   string // an ADMIN's token of the test organization
	adminID int
	orgID   int
	queries atomic.Int64 // SQL statements sent, counted by the driver
}

func newTestAPI(t testing.TB) *testAPI {
	t.Helper()
	return newTestAPIWith(t, nil)
}

// newTestAPIWith also registers step executors with the engine.
func newTestAPIWith(t testing.TB, executors map[stepkind.Kind]engine.Executor) *testAPI {
	t.Helper()
	return buildTestAPI(t, executors, false, nil)
}

// newDemoTestAPI serves the demo data with the real-estate modules'
// executors, as `go run .` does.
func newDemoTestAPI(t *testing.T) *testAPI {
	t.Helper()
	return buildTestAPI(t, nil, true, registerModules)
}

// registerModules registers every module's executors, as server.go does.
func registerModules(e *engine.Engine, db *database.DB) {
	modules.Register(e, spec.Deps{Client: db.Client, Now: time.Now})
}

func buildTestAPI(t testing.TB, executors map[stepkind.Kind]engine.Executor, demo bool, register func(*engine.Engine, *database.DB)) *testAPI {
	t.Helper()
	return buildTestAPIOpts(t, executors, demo, register, testAPIOptions{})
}

// testAPIOptions adjust buildTestAPI for a test.
type testAPIOptions struct {
	logger *slog.Logger                        // nil: logs are discarded
	driver func(dialect.Driver) dialect.Driver // wraps the database driver
}

func buildTestAPIOpts(t testing.TB, executors map[stepkind.Kind]engine.Executor, demo bool, register func(*engine.Engine, *database.DB), opts testAPIOptions) *testAPI {
	t.Helper()
	api := &testAPI{t: t}
	var dsn string
	api.db, dsn = testdb.OpenURL(t, database.Options{Driver: func(d dialect.Driver) dialect.Driver {
		if opts.driver != nil {
			d = opts.driver(d)
		}
		return dialect.DebugWithContext(d, func(context.Context, ...any) { api.queries.Add(1) })
	}})
	boot, err := seed.Bootstrap(context.Background(), api.db.Client, demo, time.Now())
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	api.orgID = boot.Org.ID
	api.authn = auth.New(api.db.Client)
	admin, err := auth.EnsureUser(context.Background(), api.db.Client, boot.Org.Slug, "admin@test.example", user.RoleADMIN)
	if err != nil {
		t.Fatal(err)
	}
	api.adminID = admin.ID
	if api.token, _, err = api.authn.Issue(api.ctx(), api.db.Client, admin.ID, "test", nil); err != nil {
		t.Fatal(err)
	}
	cfg := config{maxBodyBytes: 64 << 10, rateLimit: 1 << 20} // tests poll; the limit has its own test
	logger := opts.logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ecfg := engine.Config{
		Dialect: api.db.Dialect, Logger: logger, BackoffBase: 10 * time.Millisecond, ProgressInterval: 20 * time.Millisecond,
	}
	if api.db.Dialect == dialect.Postgres { // as server.go runs it
		ecfg.ListenDSN = dsn
		ecfg.River = &engine.RiverConfig{DB: api.db.SQL, ClientOnTx: api.db.ClientOnTx, ListenerDSN: dsn}
	}
	// Runs are checked as server.go checks them. Stub executors stand in
	// for the modules and read parameters the modules do not declare
	// (budget, fail, n): with them, only the subject is checked.
	ecfg.CheckStart = modules.StartChecker(api.db.Client)
	if executors != nil {
		ecfg.CheckStart = func(ctx context.Context, c engine.StartCheck) error {
			return modules.CheckSubject(ctx, api.db.Client, c.Subject)
		}
	}
	api.engine = engine.New(api.db.Client, ecfg)
	for kind, ex := range executors {
		api.engine.Register(string(kind), ex)
	}
	if register != nil {
		register(api.engine, api.db)
	}
	if err := api.engine.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// On PostgreSQL the LISTEN connection comes up in the background;
	// /readyz says not ready until it has, as it should.
	for deadline := time.Now().Add(10 * time.Second); api.engine.Ready() != nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("engine not ready: %v", api.engine.Ready())
		}
	}
	api.srv = httptest.NewServer(newRoutes(api.db, api.engine, api.authn, cfg, logger))
	t.Cleanup(func() {
		api.srv.CloseClientConnections()
		api.srv.Close()
		if err := api.engine.Stop(context.Background()); err != nil {
			t.Errorf("stopping engine: %v", err)
		}
	})
	return api
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
	req, err := http.NewRequest(http.MethodPost, a.srv.URL+"/graphql", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
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
	out := gqlResponse{status: resp.StatusCode}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("response is not JSON (%d): %s", resp.StatusCode, raw)
	}
	return out
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
