package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	gqlcode "github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/httpserver"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/internal/logscrub"
	"github.com/estateflow/estateflow/internal/requestid"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/tenant"
)

// logRecords collects JSON log lines, written from handler goroutines.
type logRecords struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logRecords) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// withMessage returns the records whose msg is msg.
func (l *logRecords) withMessage(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// serverLogger is the logger the server builds (see newLogger), over w.
func serverLogger(w io.Writer) *slog.Logger {
	return slog.New(requestid.NewHandler(logscrub.New(slog.NewJSONHandler(w, nil))))
}

func code(e *gqlerror.Error) string {
	c, _ := e.Extensions["code"].(string)
	return c
}

// TestInternalErrorCarriesTheRequestID presents a driver error during a
// request that goes through the server's request-ID and access-log
// middleware: the client sees INTERNAL and the request ID, never the SQL;
// the error's log line and the access log line carry the ID the
// X-Request-ID header gave the client.
func TestInternalErrorCarriesTheRequestID(t *testing.T) {
	t.Parallel()
	var logs logRecords
	logger := serverLogger(&logs)
	p := errorPresenter{logger: logger}
	const driverText = `pq: duplicate key value violates unique constraint "clients_email" (SELECT * FROM clients WHERE email = $1)`
	h := httpserver.RequestID(httpserver.AccessLog(logger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := p.present(r.Context(), fmt.Errorf("creating client: %w", errors.New(driverText)))
		_ = json.NewEncoder(w).Encode(map[string]any{"errors": []*gqlerror.Error{out}})
	})))
	srv := httptest.NewServer(h)
	defer srv.Close()

	for _, sent := range []string{"", "caller-chosen-7"} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", nil)
		if sent != "" {
			req.Header.Set(httpserver.RequestIDHeader, sent)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Errors []*gqlerror.Error }
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil || len(body.Errors) != 1 {
			t.Fatalf("response: %+v, %v", body, err)
		}
		id := resp.Header.Get(httpserver.RequestIDHeader)
		if id == "" || (sent != "" && id != sent) {
			t.Fatalf("X-Request-ID %q (sent %q)", id, sent)
		}
		got := body.Errors[0]
		if code(got) != string(errcode.Internal) || got.Message != "internal error (request "+id+")" {
			t.Errorf("presented %q %+v; want INTERNAL with request %s", got.Message, got.Extensions, id)
		}
		if raw, _ := json.Marshal(got); strings.Contains(string(raw), "pq:") || strings.Contains(string(raw), "SELECT") {
			t.Errorf("the driver's text reached the client: %s", raw)
		}

		var internal, access map[string]any
		for _, rec := range logs.withMessage(t, "graphql: internal error") {
			if rec[requestid.LogKey] == id {
				internal = rec
			}
		}
		for _, rec := range logs.withMessage(t, "http request") {
			if rec[requestid.LogKey] == id {
				access = rec
			}
		}
		if internal == nil || access == nil {
			t.Fatalf("request %s: internal error logged %v, access logged %v", id, internal, access)
		}
		if errText, _ := internal["err"].(string); !strings.Contains(errText, "duplicate key") {
			t.Errorf("the log lacks the error itself: %v", internal)
		}
	}
}

// TestInternalErrorWithoutRequest presents an internal error outside any
// HTTP request (a subscription's background work): no request ID in the
// message, none in the log.
func TestInternalErrorWithoutRequest(t *testing.T) {
	t.Parallel()
	var logs logRecords
	p := errorPresenter{logger: serverLogger(&logs)}
	got := p.present(context.Background(), errors.New("sql: connection is already closed"))
	if code(got) != string(errcode.Internal) || got.Message != "internal error" {
		t.Fatalf("presented %q %+v", got.Message, got.Extensions)
	}
	recs := logs.withMessage(t, "graphql: internal error")
	if len(recs) != 1 {
		t.Fatalf("%d internal-error records", len(recs))
	}
	if _, has := recs[0][requestid.LogKey]; has {
		t.Fatalf("a record without a request has a request_id: %v", recs[0])
	}
}

// TestValidationAndParseErrors presents gqlgen's own refusals of a
// document: they become BAD_USER_INPUT, gqlgen's code kept as the reason,
// the field named where the error names one.
func TestValidationAndParseErrors(t *testing.T) {
	t.Parallel()
	p := errorPresenter{logger: slog.New(slog.DiscardHandler)}
	for _, tc := range []struct {
		gqlgenCode, message, field string
	}{
		{gqlcode.ValidationFailed, `Cannot query field "budget" on type "Client".`, "budget"},
		{gqlcode.ParseFailed, `Expected Name, found <EOF>`, ""},
	} {
		in := &gqlerror.Error{Message: tc.message, Extensions: map[string]any{"code": tc.gqlgenCode}}
		got := p.present(context.Background(), in)
		field, _ := got.Extensions["field"].(string)
		if code(got) != string(errcode.BadUserInput) || got.Extensions["reason"] != tc.gqlgenCode ||
			got.Message != tc.message || field != tc.field {
			t.Errorf("%s: presented %q %+v; want BAD_USER_INPUT, field %q", tc.gqlgenCode, got.Message, got.Extensions, tc.field)
		}
	}
	// Our own refusals pass as they are.
	mine := badInput("input.name", "name must not be empty")
	if got := p.present(context.Background(), mine); code(got) != string(errcode.BadUserInput) ||
		got.Extensions["field"] != "input.name" || got.Message != "name must not be empty" {
		t.Errorf("a coded refusal changed: %q %+v", got.Message, got.Extensions)
	}
}

// TestRefusalsKeepTheirCodes presents the refusals of the engine and of ent,
// produced by a real engine and database: each keeps its code and field, and
// none is logged as internal.
func TestRefusalsKeepTheirCodes(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, database.Options{})
	sys := tenant.SystemContext(context.Background())
	eng := engine.New(db.Client, engine.Config{Dialect: db.Dialect, Logger: slog.New(slog.DiscardHandler)})
	org, err := db.Client.Organization.Create().SetName("Acme").SetSlug("acme").Save(sys)
	if err != nil {
		t.Fatal(err)
	}

	refusal := func(err error) error {
		t.Helper()
		if err == nil {
			t.Fatal("the operation was not refused")
		}
		return err
	}
	_, badKey := eng.StartRun(sys, engine.StartRequest{PackageID: 1, IdempotencyKey: new("")})
	_, noPackage := eng.StartRun(sys, engine.StartRequest{PackageID: 1 << 40})
	_, noOrg := db.Client.Organization.Get(sys, org.ID+1000)
	_, badSlug := db.Client.Organization.Create().SetName("Bad").SetSlug("Not A Slug").Save(sys)
	_, dupSlug := db.Client.Organization.Create().SetName("Acme again").SetSlug("acme").Save(sys)

	var logs logRecords
	p := errorPresenter{logger: serverLogger(&logs)}
	for _, tc := range []struct {
		name        string
		err         error
		code, field string
	}{
		{"engine input error", badKey, string(errcode.BadUserInput), "input.idempotencyKey"},
		{"engine not found", noPackage, string(errcode.NotFound), "input.packageId"},
		{"ent not found", noOrg, string(errcode.NotFound), ""},
		{"ent validation", badSlug, string(errcode.BadUserInput), "input.slug"},
		{"ent unique constraint", dupSlug, string(errcode.Conflict), "slug"},
	} {
		got := p.present(sys, fmt.Errorf("resolver: %w", refusal(tc.err)))
		field, _ := got.Extensions["field"].(string)
		if code(got) != tc.code || field != tc.field {
			t.Errorf("%s (%v): presented %q %+v; want %s, field %q", tc.name, tc.err, got.Message, got.Extensions, tc.code, tc.field)
		}
	}
	if recs := logs.withMessage(t, "graphql: internal error"); len(recs) != 0 {
		t.Errorf("refusals were logged as internal errors: %v", recs)
	}
}

// TestIntrospectionRefusal tells gqlgen's refusal of __schema and __type by
// the field and the operation, whatever the error's text.
func TestIntrospectionRefusal(t *testing.T) {
	t.Parallel()
	p := errorPresenter{logger: slog.New(slog.DiscardHandler)}
	fieldContext := func(disabled bool, field string) context.Context {
		ctx := graphql.WithOperationContext(context.Background(), &graphql.OperationContext{DisableIntrospection: disabled})
		return graphql.WithFieldContext(ctx, &graphql.FieldContext{
			Object: "Query",
			Field:  graphql.CollectedField{Field: &ast.Field{Name: field, Alias: field}},
		})
	}
	gqlgenErr := errors.New("introspection disabled")
	for _, tc := range []struct {
		name     string
		ctx      context.Context
		err      error
		wantCode errcode.Code
	}{
		{"__schema, introspection off", fieldContext(true, "__schema"), gqlgenErr, errcode.Forbidden},
		{"__type, introspection off", fieldContext(true, "__type"), gqlgenErr, errcode.Forbidden},
		{"__schema, introspection on", fieldContext(false, "__schema"), gqlgenErr, errcode.Internal},
		{"another field failing with the same text", fieldContext(true, "clients"), gqlgenErr, errcode.Internal},
	} {
		got := p.present(tc.ctx, tc.err)
		if code(got) != string(tc.wantCode) {
			t.Errorf("%s: presented %q %+v; want %s", tc.name, got.Message, got.Extensions, tc.wantCode)
		}
		if tc.wantCode == errcode.Forbidden && got.Message != "introspection is turned off on this server" {
			t.Errorf("%s: message %q", tc.name, got.Message)
		}
	}
}

// TestSubscriptionErrorsGoOnlyToWebsockets: outside a websocket (SSE, or
// no transport at all) there is nowhere to send a subscription's error, and
// reporting one must be a no-op, not a panic.
func TestSubscriptionErrorsGoOnlyToWebsockets(t *testing.T) {
	t.Parallel()
	addSubscriptionError(context.Background(), codedError(errcode.SlowConsumer, "", "too slow"))

	var marked context.Context
	init := websocketInit(func(ctx context.Context, _ transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		marked = ctx
		return ctx, nil, nil
	})
	if _, _, err := init(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if !isWebsocket(marked) || isWebsocket(context.Background()) {
		t.Fatal("the websocket mark is not where it belongs")
	}
}
