package graph_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/organization"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/graph"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/tenant"
)

// TestRunStatesAreResolvedOncePerState subscribes several websockets to
// runsUpdated with the same operation, and one with another selection,
// and runs a 3-step run: every subscriber gets the run's states through to
// SUCCEEDED, and Run.reportUrl (a field resolver) is resolved once per
// state and operation, not once per subscriber.
func TestRunStatesAreResolvedOncePerState(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db := testdb.Open(t, database.Options{})
	authn := auth.New(db.Client)
	secret, err := authn.EnsureAdminToken(ctx, "acme", "")
	if err != nil {
		t.Fatal(err)
	}
	org, err := db.Client.Organization.Query().Where(organization.Slug("acme")).Only(tenant.SystemContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	vctx := tenant.NewContext(ctx, tenant.Viewer{OrgID: org.ID, Role: tenant.RoleAdmin})
	logger := slog.New(slog.DiscardHandler)
	eng := engine.New(db.Client, engine.Config{Dialect: db.Dialect, Logger: logger})
	noop := engine.ExecutorFunc(func(context.Context, *engine.StepContext) (any, error) { return map[string]any{}, nil })
	kinds := []stepkind.Kind{stepkind.LeadScoring, stepkind.EmailSequence, stepkind.SocialTargeting}
	for _, k := range kinds {
		eng.Register(string(k), noop)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Stop(context.Background())
	pkg, err := db.Client.WorkflowPackage.Create().SetKey("mux").SetName("Mux").SetSubject(stepkind.SubjectClient).Save(vctx)
	if err != nil {
		t.Fatal(err)
	}
	prev := []string{}
	for i, k := range kinds {
		key := string(rune('a' + i))
		if err := db.Client.PackageStep.Create().SetPackageID(pkg.ID).SetKey(key).SetName(key).SetKind(k).SetDependsOn(prev).SetPosition(i).Exec(vctx); err != nil {
			t.Fatal(err)
		}
		prev = []string{key}
	}
	contact, err := db.Client.Contact.Create().SetName("Ana").Save(vctx)
	if err != nil {
		t.Fatal(err)
	}

	gql := graph.NewHandler(db.Client, eng, graph.HandlerConfig{Logger: logger, Auth: authn})
	var subscribed, resolved atomic.Int64
	gql.(*handler.Server).AroundFields(func(ctx context.Context, next graphql.Resolver) (any, error) {
		fc := graphql.GetFieldContext(ctx)
		switch {
		case fc.Object == "Subscription":
			defer subscribed.Add(1)
		case fc.Object == "Run" && fc.Field.Name == "reportUrl":
			resolved.Add(1)
		}
		return next(ctx)
	})
	srv := httptest.NewServer(gql)
	defer srv.Close()

	const same = 6
	queries := []string{"subscription { runsUpdated { id status progress updatedAt reportUrl } }"}
	for range same - 1 {
		queries = append(queries, queries[0])
	}
	queries = append(queries, "subscription { runsUpdated { status reportUrl updatedAt } }")
	conns := make([]*websocket.Conn, len(queries))
	for i, q := range queries {
		conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		conns[i] = conn
		for _, msg := range []map[string]any{
			{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + secret}},
			{"id": "1", "type": "subscribe", "payload": map[string]any{"query": q}},
		} {
			if err := wsjson.Write(ctx, conn, msg); err != nil {
				t.Fatal(err)
			}
		}
	}
	for subscribed.Load() < int64(len(queries)) {
		select {
		case <-ctx.Done():
			t.Fatal("the subscriptions never started")
		case <-time.After(5 * time.Millisecond):
		}
	}
	if _, err := eng.StartRun(vctx, engine.StartRequest{PackageID: pkg.ID, ClientID: &contact.ID}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	distinct := make([]map[string]bool, 2) // per operation
	for i := range distinct {
		distinct[i] = map[string]bool{}
	}
	var wg sync.WaitGroup
	for i, conn := range conns {
		op := 0
		if i >= same {
			op = 1
		}
		wg.Go(func() {
			for {
				var msg struct {
					Type    string          `json:"type"`
					Payload json.RawMessage `json:"payload"`
				}
				if err := wsjson.Read(ctx, conn, &msg); err != nil {
					t.Errorf("subscriber %d: read: %v", i, err)
					return
				}
				if msg.Type != "next" {
					continue
				}
				var p struct {
					Data struct {
						RunsUpdated struct {
							Status    string `json:"status"`
							ReportURL string `json:"reportUrl"`
						} `json:"runsUpdated"`
					} `json:"data"`
					Errors []any `json:"errors"`
				}
				if err := json.Unmarshal(msg.Payload, &p); err != nil || len(p.Errors) > 0 || p.Data.RunsUpdated.ReportURL == "" {
					t.Errorf("subscriber %d: payload %s (%v)", i, msg.Payload, err)
					return
				}
				mu.Lock()
				distinct[op][string(msg.Payload)] = true
				mu.Unlock()
				if p.Data.RunsUpdated.Status == "SUCCEEDED" {
					return
				}
			}
		})
	}
	wg.Wait()
	states := len(distinct[0]) + len(distinct[1])
	if got := resolved.Load(); got > int64(states) {
		t.Fatalf("reportUrl resolved %d times for %d distinct states across %d subscribers: not shared", got, states, len(queries))
	}
}
