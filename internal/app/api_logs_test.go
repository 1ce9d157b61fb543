package app

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/internal/testdb"
)

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLogsCarryNoSecretsOrPersonalData enforces "logs never contain token
// secrets, emails or phone numbers": it logs through the server's own
// newLogger, at debug level, while exercising the flows that handle them
// (CRM writes, refused and revoked tokens over HTTP and websockets, an
// internal error whose driver message quotes the row, a panicking step,
// a Lead Nurture run that writes emails), then searches the output.
func TestLogsCarryNoSecretsOrPersonalData(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	textLogger := newLogger(&logs, Config{LogLevel: slog.LevelDebug})
	jsonLogger := newLogger(&logs, Config{LogLevel: slog.LevelDebug, LogJSON: true})

	const (
		email        = "ana.ruiz.logs@example.com"
		notesEmail   = "ana.private@example.org"
		invalidEmail = "ana.ruiz.update@example.com"
		phone        = "(512) 555-0134"
		notesPhone   = "512.555.0177"
		probeEmail   = "probe.internal@example.com"
		probePhone   = "+1 512 555 0188"
		panicEmail   = "pablo.panic@example.net"
		panicPhone   = "+44 20 7946 0958"
	)
	// Every form in which these could leak.
	forbidden := []string{
		email, notesEmail, invalidEmail, probeEmail, panicEmail,
		"ana.ruiz.logs", "ana.private", "ana.ruiz.update", "probe.internal", "pablo.panic", "%40example",
		phone, "555-0134", "5125550134", notesPhone, "555.0177", "5125550177",
		probePhone, "555 0188", "5125550188", panicPhone, "7946 0958", "2079460958",
	}
	forbidSecret := func(secret string) {
		// The display prefix (ef_ and 6 characters) may be logged; the
		// rest must not be, in whole or in part.
		forbidden = append(forbidden, secret, secret[9:], secret[len(secret)-20:])
	}

	// The demo server, with the real-estate modules, logging text.
	api := newTestAPI(t, testOptions{demo: true, logger: textLogger})
	forbidSecret(api.token)

	// A client with an email and a phone, in its fields and in its notes.
	var created struct {
		CreateClient struct{ ID string } `json:"createClient"`
	}
	api.do(`mutation($email: String!, $phone: String!, $notes: String!) { createClient(input: {name: "Ana Ruiz",
		email: $email, phone: $phone, stage: PROSPECT, source: REFERRAL, budgetMin: 300000, budgetMax: 2500000,
		preApproved: true, moveTimeline: 1, emailOptIn: true, smsOptIn: true, notes: $notes}) { id } }`,
		map[string]any{"email": email, "phone": phone, "notes": "also " + notesEmail + ", texts to " + notesPhone}).ok(t, &created)
	clientID := created.CreateClient.ID

	// An update with an invalid email is refused.
	api.do(`mutation($id: ID!, $email: String!) { updateClient(id: $id, input: {email: $email}) { id } }`,
		map[string]any{"id": clientID, "email": "Ana Ruiz <" + invalidEmail + ">"}).wantError(t, "BAD_USER_INPUT", "input.email")

	// Refused tokens: malformed, unknown, revoked, under another scheme.
	malformed, _, _ := auth.NewSecret()
	malformed = malformed[:len(malformed)-1]
	unknown, _, _ := auth.NewSecret()
	var newToken struct {
		CreateAPIToken struct {
			Secret string
			Token  struct{ ID string }
		} `json:"createApiToken"`
	}
	api.do(`mutation { createApiToken(name: "soon revoked") { secret token { id } } }`, nil).ok(t, &newToken)
	revoked := newToken.CreateAPIToken.Secret
	api.do(`mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, map[string]any{"id": newToken.CreateAPIToken.Token.ID}).ok(t, nil)
	for _, s := range []string{malformed, unknown, revoked} {
		forbidSecret(s)
	}
	viewer := []byte(`{"query": "{ viewer { role } }"}`)
	for i, header := range []string{"Bearer " + malformed, "Bearer " + unknown, "bearer   " + revoked, "Token " + unknown, unknown} {
		status, _ := rawPost(t, api.srv.URL+"/graphql", header, fmt.Sprintf("logs-refused-%d", i), "", viewer)
		if status != http.StatusUnauthorized {
			t.Fatalf("Authorization %d: status %d, want 401", i, status)
		}
	}

	// Websockets that authenticate in connection_init with a bad token.
	for _, secret := range []string{unknown, revoked, malformed} {
		wsRefused(t, api.srv.URL, "Bearer "+secret)
	}

	// The Lead Nurture package for the client: its steps score it, write
	// the emails of a drip to its address and plan follow-ups.
	var pkgs struct {
		Packages struct {
			Edges []struct{ Node struct{ ID string } } `json:"edges"`
		} `json:"packages"`
	}
	api.do(`{ packages(first: 1, where: {key: "lead-nurture"}) { edges { node { id } } } }`, nil).ok(t, &pkgs)
	runID := startAndWait(t, api, pkgs.Packages.Edges[0].Node.ID, clientID, "SUCCEEDED")
	var mails struct {
		Node struct {
			EmailMessages struct {
				Edges []struct{ Node struct{ To, Body string } } `json:"edges"`
			} `json:"emailMessages"`
		} `json:"node"`
	}
	api.do(`query($id: ID!) { node(id: $id) { ... on Client { emailMessages(first: 10) { edges { node { to body } } } } } }`,
		map[string]any{"id": clientID}).ok(t, &mails)
	if len(mails.Node.EmailMessages.Edges) == 0 || mails.Node.EmailMessages.Edges[0].Node.To != email {
		t.Fatalf("run %s wrote no emails to the client: %+v", runID, mails)
	}

	// A second server, logging JSON, whose database driver refuses the
	// probe's row with a message that quotes it (as drivers quote the
	// values they refuse), and whose scoring step panics with the client's
	// contact details.
	failing := newTestAPI(t, testOptions{
		executors: func(client *ent.Client) map[stepkind.Kind]engine.Executor {
			return map[stepkind.Kind]engine.Executor{stepkind.LeadScoring: panickingStep{client: client}}
		},
		logger: jsonLogger,
		driver: func(d dialect.Driver) dialect.Driver { return echoingDriver{Driver: d, marker: probeEmail} },
	})
	forbidSecret(failing.token)
	status, body := rawPost(t, failing.srv.URL+"/graphql", "Bearer "+failing.token, "logs-internal", "", mustJSON(t, map[string]any{
		"query":     `mutation($email: String!, $phone: String!) { createClient(input: {name: "Probe", email: $email, phone: $phone}) { id } }`,
		"variables": map[string]any{"email": probeEmail, "phone": probePhone},
	}))
	if status != http.StatusOK || !strings.Contains(body, `"INTERNAL"`) || !strings.Contains(body, "logs-internal") {
		t.Fatalf("the refused write: %d %s", status, body)
	}
	var setup struct {
		CreatePackage struct{ ID string } `json:"createPackage"`
		CreateClient  struct{ ID string } `json:"createClient"`
	}
	failing.do(`mutation($email: String!, $phone: String!) {
		createPackage(input: {key: "score-only", name: "Score", subject: CLIENT, steps: [{key: "score", name: "Score", kind: LEAD_SCORING, maxAttempts: 1}]}) { id }
		createClient(input: {name: "Pablo", email: $email, phone: $phone}) { id } }`,
		map[string]any{"email": panicEmail, "phone": panicPhone}).ok(t, &setup)
	startAndWait(t, failing, setup.CreatePackage.ID, setup.CreateClient.ID, "FAILED")

	out := logs.String()
	for _, leak := range forbidden {
		if strings.Contains(out, leak) {
			t.Errorf("the logs contain %q", leak)
		}
	}
	// The logs still say what happened: the test must be able to fail.
	for _, want := range []string{
		`msg="http request"`, "path=/graphql", "status=200", "status=401", "status=101",
		"request_id=logs-refused-1", "request_id=logs-refused-4",
		`"msg":"graphql: internal error"`, `"request_id":"logs-internal"`, `"path":"createClient"`,
		`"msg":"engine: executor panicked"`, `"step":"score"`,
		// What the scrubber replaced: personal data did reach the logs.
		"[redacted-email]", "[redacted-phone]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the logs lack %s", want)
		}
	}
	if t.Failed() {
		t.Logf("logs:\n%s", out)
	}
}

// TestMalformedSSEBodyIsNotLogged sends a subscription over SSE whose body
// is JSON but not a GraphQL request. gqlgen's SSE transport would log such
// a body in full with the standard log package, outside any slog handler;
// httpserver.GraphQLBody refuses it first. Not parallel: it captures the
// standard logger's output.
func TestMalformedSSEBodyIsNotLogged(t *testing.T) {
	var std syncBuffer
	prev := log.Writer()
	log.SetOutput(&std)
	defer log.SetOutput(prev)

	api := newTestAPI(t, testOptions{})
	const email, phone = "sse.body@example.com", "(512) 555-0166"
	for _, body := range []string{
		`{"query": "subscription { runsUpdated { id } }", "variables": "` + email + ` ` + phone + `"}`,
		`{"query": ["` + email + `"]}`,
		`["` + email + `", "` + phone + `"]`,
	} {
		status, resp := rawPost(t, api.srv.URL+"/graphql", "Bearer "+api.token, "", "text/event-stream", []byte(body))
		if status != http.StatusBadRequest || !strings.Contains(resp, "BAD_USER_INPUT") {
			t.Fatalf("%s: %d %s", body, status, resp)
		}
	}
	if out := std.String(); strings.Contains(out, email) || strings.Contains(out, "555-0166") {
		t.Fatalf("the standard logger printed the body: %s", out)
	}
}

// TestImportRejectionsCarryNoPersonalData imports a CSV whose bad rows hold
// contact details where a number or a type belongs: the rejection report,
// which quotes the cell at fault and ends up in CI logs, keeps the line and
// the reason but not the details.
func TestImportRejectionsCarryNoPersonalData(t *testing.T) {
	t.Parallel()
	csv := filepath.Join(t.TempDir(), "listings.csv")
	if err := os.WriteFile(csv, []byte("id,city,latitude,longitude,property_type,beds\n"+
		"a-1,Austin,30.26,-97.74,single_family,3\n"+
		"a-2,Austin,30.27,-97.75,single_family,(512) 555-0134\n"+
		"a-3,Austin,30.28,-97.76,agent.jones@example.com,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := Import(context.Background(), []string{"properties", csv, "--demo=false", "--database-url", testdb.URL(t)}, &stdout, &stderr); err != nil {
		t.Fatalf("import: %v\n%s", err, stderr.String())
	}
	out := stdout.String() + stderr.String()
	for _, leak := range []string{"555-0134", "agent.jones", "example.com"} {
		if strings.Contains(out, leak) {
			t.Errorf("the import report contains %q:\n%s", leak, out)
		}
	}
	for _, want := range []string{"rejected line 3: beds \"[redacted-phone]\"", "rejected line 4: unknown property_type \"[redacted-email]\"", "imported 1,"} {
		if !strings.Contains(out, want) {
			t.Errorf("the import report lacks %s:\n%s", want, out)
		}
	}
}

// rawPost posts body with the given Authorization and X-Request-ID headers
// (and Accept, when not empty) and returns the status and response body.
func rawPost(t *testing.T, url, authorization, requestID, accept string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", authorization)
	if requestID != "" {
		req.Header.Set("X-Request-ID", requestID)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	if _, err := out.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out.String()
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startAndWait starts a run of the package for the client and waits for
// the status it should end in.
func startAndWait(t *testing.T, api *testAPI, pkgID, clientID, want string) string {
	t.Helper()
	var started struct {
		StartRun struct{ ID string } `json:"startRun"`
	}
	api.do(`mutation($pkg: ID!, $client: ID!) { startRun(input: {packageId: $pkg, clientId: $client}) { id } }`,
		map[string]any{"pkg": pkgID, "client": clientID}).ok(t, &started)
	if r := api.waitRun(t, mustInt(t, started.StartRun.ID)); string(r.Status) != want {
		t.Fatalf("run %s ended %q, want %s", started.StartRun.ID, r.Status, want)
	}
	return started.StartRun.ID
}

// panickingStep panics with its client's name and contact details, as a
// careless executor might.
type panickingStep struct{ client *ent.Client }

func (p panickingStep) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	c, err := p.client.Contact.Get(ctx, sc.Subject.ID)
	if err != nil {
		return nil, err
	}
	panic(fmt.Sprintf("cannot score %s <%s>, phone %s", c.Name, *c.Email, *c.Phone))
}

// echoingDriver fails every statement with an argument that contains
// marker, with an error that quotes all the arguments.
type echoingDriver struct {
	dialect.Driver
	marker string
}

func (d echoingDriver) refuse(args any) error {
	list, _ := args.([]any)
	for _, a := range list {
		if s, ok := a.(string); ok && strings.Contains(s, d.marker) {
			return fmt.Errorf("storage refused the row %v", list)
		}
	}
	return nil
}

func (d echoingDriver) Exec(ctx context.Context, query string, args, v any) error {
	if err := d.refuse(args); err != nil {
		return err
	}
	return d.Driver.Exec(ctx, query, args, v)
}

func (d echoingDriver) Query(ctx context.Context, query string, args, v any) error {
	if err := d.refuse(args); err != nil {
		return err
	}
	return d.Driver.Query(ctx, query, args, v)
}

func (d echoingDriver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.execContext(d.Driver, ctx, query, args)
}

func (d echoingDriver) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.queryContext(d.Driver, ctx, query, args)
}

// contextQuerier is what ent's SQL driver and transactions offer besides
// dialect.ExecQuerier; privacy rules query through it.
type contextQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (d echoingDriver) execContext(next any, ctx context.Context, query string, args []any) (sql.Result, error) {
	if err := d.refuse(args); err != nil {
		return nil, err
	}
	q, ok := next.(contextQuerier)
	if !ok {
		return nil, errors.New("echoingDriver: ExecContext is not supported")
	}
	return q.ExecContext(ctx, query, args...)
}

func (d echoingDriver) queryContext(next any, ctx context.Context, query string, args []any) (*sql.Rows, error) {
	if err := d.refuse(args); err != nil {
		return nil, err
	}
	q, ok := next.(contextQuerier)
	if !ok {
		return nil, errors.New("echoingDriver: QueryContext is not supported")
	}
	return q.QueryContext(ctx, query, args...)
}

func (d echoingDriver) Tx(ctx context.Context) (dialect.Tx, error) {
	tx, err := d.Driver.Tx(ctx)
	if err != nil {
		return nil, err
	}
	return echoingTx{Tx: tx, d: d}, nil
}

type echoingTx struct {
	dialect.Tx
	d echoingDriver
}

func (t echoingTx) Exec(ctx context.Context, query string, args, v any) error {
	if err := t.d.refuse(args); err != nil {
		return err
	}
	return t.Tx.Exec(ctx, query, args, v)
}

func (t echoingTx) Query(ctx context.Context, query string, args, v any) error {
	if err := t.d.refuse(args); err != nil {
		return err
	}
	return t.Tx.Query(ctx, query, args, v)
}

func (t echoingTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.d.execContext(t.Tx, ctx, query, args)
}

func (t echoingTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.d.queryContext(t.Tx, ctx, query, args)
}
