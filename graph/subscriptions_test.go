package graph_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/graph"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/internal/testdb"
)

// TestShutdownEndsWebsocketSubscriptionWithCode subscribes over a
// websocket and stops the engine: the client is told SHUTTING_DOWN, which
// reaches it only if the subscription's context is recognized as a
// websocket's.
func TestShutdownEndsWebsocketSubscriptionWithCode(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db := testdb.Open(t, database.Options{})
	authn := auth.New(db.Client)
	secret, err := authn.EnsureAdminToken(ctx, "acme", "")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	eng := engine.New(db.Client, engine.Config{Dialect: db.Dialect, Logger: logger})
	gql := graph.NewHandler(db.Client, eng, graph.HandlerConfig{Logger: logger, Auth: authn})
	// The subscription is in place once its resolver has returned.
	subscribed := make(chan struct{}, 1)
	gql.(*handler.Server).AroundFields(func(ctx context.Context, next graphql.Resolver) (any, error) {
		res, err := next(ctx)
		if fc := graphql.GetFieldContext(ctx); fc != nil && fc.Object == "Subscription" {
			subscribed <- struct{}{}
		}
		return res, err
	})
	srv := httptest.NewServer(gql)
	defer srv.Close()

	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	for _, msg := range []map[string]any{
		{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + secret}},
		{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "subscription { runsUpdated { id } }"}},
	} {
		if err := wsjson.Write(ctx, conn, msg); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-subscribed:
	case <-ctx.Done():
		t.Fatal("the subscription never started")
	}
	if err := eng.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for {
		var msg struct {
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
		}
		if err := wsjson.Read(ctx, conn, &msg); err != nil {
			t.Fatalf("read: %v", err)
		}
		switch msg.Type {
		case "connection_ack", "ping", "pong", "ka":
			continue
		case "error":
			var errs []struct {
				Extensions struct{ Code string } `json:"extensions"`
			}
			if err := json.Unmarshal(msg.Payload, &errs); err != nil || len(errs) != 1 || errs[0].Extensions.Code != string(errcode.ShuttingDown) {
				t.Fatalf("error message %s (%v), want one SHUTTING_DOWN", msg.Payload, err)
			}
			return
		default:
			t.Fatalf("got %s %s before the SHUTTING_DOWN error", msg.Type, msg.Payload)
		}
	}
}
