package app

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/database"
)

// capturingDriver records the read statements sent through it, with their
// arguments, in its log, so that a test can ask the database how it runs
// them. Every driver the application opens (the pool's, and one per River
// transaction on PostgreSQL) gets its own, over one log.
type capturingDriver struct {
	dialect.Driver
	log *queryLog
}

type queryLog struct {
	mu      sync.Mutex
	on      bool
	queries []capturedQuery
}

type capturedQuery struct {
	sql  string
	args []any
}

func (d *capturingDriver) Query(ctx context.Context, query string, args, v any) error {
	l := d.log
	l.mu.Lock()
	if l.on && strings.HasPrefix(strings.TrimSpace(strings.ToUpper(query)), "SELECT") {
		list, _ := args.([]any)
		l.queries = append(l.queries, capturedQuery{sql: query, args: append([]any(nil), list...)})
	}
	l.mu.Unlock()
	return d.Driver.Query(ctx, query, args, v)
}

// QueryContext and ExecContext pass the raw statements ent's privacy rules
// send straight through.
func (d *capturingDriver) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.Driver.(interface {
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	}).QueryContext(ctx, query, args...)
}

func (d *capturingDriver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.Driver.(interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
	}).ExecContext(ctx, query, args...)
}

// record turns capturing on or off and returns what was captured so far.
func (l *queryLog) record(on bool) []capturedQuery {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.on = on
	out := l.queries
	l.queries = nil
	return out
}

// historyTables grow with every run: a query may never read one of them
// whole.
var historyTables = []string{"runs", "step_runs", "run_events", "tasks", "email_messages", "scheduled_posts",
	"deals", "interactions", "lead_score_records", "properties", "contacts"}

// TestConnectionQueriesUseIndexes runs what the API's connections, their
// nested edges, filters and orderings, and the REST run endpoints send to
// the database, and asks the database (EXPLAIN QUERY PLAN on SQLite;
// EXPLAIN with sequential scans priced out on PostgreSQL, so that any
// usable index is taken) how it would run each: none may scan a table
// that grows with history.
func TestConnectionQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	capture := &queryLog{}
	api := newTestAPI(t, testOptions{demo: true, driver: func(d dialect.Driver) dialect.Driver {
		return &capturingDriver{Driver: d, log: capture}
	}, now: time.Now}) // now: the pool's sweeps run every 100ms
	// Real history: a New Listing and a Lead Nurture run.
	prop, pkg := api.activeListingAndNewListing(t)
	var started struct {
		StartRun struct{ ID string } `json:"startRun"`
	}
	api.do(`mutation($pkg: ID!, $prop: ID!) { startRun(input: {packageId: $pkg, propertyId: $prop}) { id } }`,
		map[string]any{"pkg": pkg, "prop": prop}).ok(t, &started)
	listing := started.StartRun.ID
	api.waitRun(t, mustInt(t, listing))
	var setup struct {
		Clients struct {
			Edges []struct{ Node struct{ ID string } } `json:"edges"`
		} `json:"clients"`
		Packages struct {
			Edges []struct{ Node struct{ ID string } } `json:"edges"`
		} `json:"packages"`
	}
	api.do(`{ clients(first: 1) { edges { node { id } } } packages(first: 1, where: {key: "lead-nurture"}) { edges { node { id } } } }`, nil).ok(t, &setup)
	client := setup.Clients.Edges[0].Node.ID
	api.do(`mutation($pkg: ID!, $c: ID!) { startRun(input: {packageId: $pkg, clientId: $c}) { id } }`,
		map[string]any{"pkg": setup.Packages.Edges[0].Node.ID, "c": client}).ok(t, &started)
	api.waitRun(t, mustInt(t, started.StartRun.ID))

	reads := []struct {
		name  string
		query string
		vars  map[string]any
	}{
		{"properties with nested runs", `{ properties(first: 50) { totalCount edges { node { id
			runs(first: 10) { totalCount edges { node { id status } } }
			tasks(first: 5) { totalCount } scheduledPosts(first: 5) { totalCount } deals(first: 5) { totalCount } } } } }`, nil},
		{"clients with nested edges", `{ clients(first: 20) { totalCount edges { node { id
			runs(first: 5) { totalCount edges { node { id } } } tasks(first: 5) { totalCount } emailMessages(first: 5) { totalCount }
			deals(first: 5) { totalCount } interactions(first: 5) { totalCount } scoreHistory(first: 5) { totalCount } } } } }`, nil},
		{"runs with steps and events", `{ runs(first: 10) { totalCount edges { node { id steps { key status }
			events(first: 20, orderBy: {field: SEQ}) { totalCount edges { node { seq type } } } } } } }`, nil},
		{"runs by status", `{ runs(first: 10, where: {status: SUCCEEDED}) { totalCount edges { node { id } } } }`, nil},
		{"runs by creation", `{ runs(first: 10, orderBy: {field: CREATED_AT, direction: DESC}) { totalCount edges { node { id } } } }`, nil},
		{"runs of a property", `query($p: ID!) { runs(first: 10, where: {propertyID: $p}) { totalCount edges { node { id } } } }`, map[string]any{"p": prop}},
		{"runs of a client", `query($c: ID!) { runs(first: 10, where: {clientID: $c}) { totalCount edges { node { id } } } }`, map[string]any{"c": client}},
		{"runs of a package", `query($p: ID!) { runs(first: 10, where: {packageID: $p}) { totalCount edges { node { id } } } }`, map[string]any{"p": pkg}},
		{"a run's history", `query($id: ID!) { node(id: $id) { ... on Run { status steps { key } events(first: 100, orderBy: {field: SEQ}) { totalCount edges { node { seq } } } } } }`, map[string]any{"id": listing}},
		{"tasks, emails, posts, transactions", `{ tasks(first: 10, where: {status: OPEN}) { totalCount edges { node { id } } }
			emailMessages(first: 10) { totalCount edges { node { id } } } scheduledPosts(first: 10) { totalCount edges { node { id } } }
			transactions(first: 10) { totalCount } }`, nil},
	}
	restReads := []string{restRuns + "?limit=20", restRuns + "?status=SUCCEEDED", restRuns + "/" + listing, "/api/v1/runs/" + listing + "/report?format=json"}

	explained := 0
	for _, r := range reads {
		capture.record(true)
		api.do(r.query, r.vars).ok(t, nil)
		explained += checkPlans(t, api.db, r.name, capture.record(false))
	}
	for _, path := range restReads {
		capture.record(true)
		status, _, body := send(t, http.MethodGet, api.srv.URL+path, api.token, nil, nil)
		if status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, status, body)
		}
		explained += checkPlans(t, api.db, "GET "+path, capture.record(false))
	}
	if explained < len(reads) {
		t.Fatalf("only %d statements on history tables were explained", explained)
	}

	// The engine's own background reads run as history grows too: the
	// pool's sweep for lost retry timers and passed deadlines (with River,
	// the orphan sweep is River's job and not sent through ent).
	capture.record(true)
	time.Sleep(350 * time.Millisecond)
	swept := checkPlans(t, api.db, "the engine's sweeps", capture.record(false))
	if api.db.Dialect == dialect.SQLite && swept < 2 {
		t.Fatalf("the pool's sweeps sent %d statements on history tables in 350ms, want at least 2", swept)
	}
}

// checkPlans explains each captured statement that reads a history table
// and fails the test on a full scan of one; it returns how many it
// explained.
func checkPlans(t *testing.T, db *database.DB, name string, queries []capturedQuery) int {
	t.Helper()
	n := 0
	for _, q := range queries {
		if !readsHistory(q.sql) {
			continue
		}
		n++
		plan := explain(t, db, q)
		t.Logf("%s:\n%s\n%s", name, q.sql, plan)
		if table := fullScan(db.Dialect, plan); table != "" {
			t.Errorf("%s: a full scan of %s:\n%s\n%s", name, table, q.sql, plan)
		}
		// On PostgreSQL the planner prices the test's few rows: it reads a
		// composite index by its organization prefix alone when the table is
		// this small, so only SQLite's plans (which do not depend on table
		// sizes without ANALYZE) are held to the stricter rule.
		if db.Dialect == dialect.SQLite && edgeQuery.MatchString(q.sql) {
			if table := orgOnlySearch(db.Dialect, plan); table != "" {
				t.Errorf("%s: a nested edge reads all of the organization's %s:\n%s\n%s", name, table, q.sql, plan)
			}
		}
	}
	return n
}

func readsHistory(query string) bool {
	for _, table := range historyTables {
		if strings.Contains(query, `"`+table+`"`) || strings.Contains(query, "`"+table+"`") {
			return true
		}
	}
	return false
}

// explain returns the plan of q, one line per node. On PostgreSQL,
// sequential scans are priced out in a transaction that is rolled back,
// so that the plan shows a sequential scan only where no index serves.
func explain(t *testing.T, db *database.DB, q capturedQuery) string {
	t.Helper()
	ctx := context.Background()
	tx, err := db.SQL.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	prefix := "EXPLAIN QUERY PLAN "
	if db.Dialect == dialect.Postgres {
		prefix = "EXPLAIN "
		if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := tx.QueryContext(ctx, prefix+q.sql, q.args...)
	if err != nil {
		t.Fatalf("explaining %s: %v", q.sql, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var plan strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		// SQLite: id, parent, notused, detail; PostgreSQL: one line of text.
		fmt.Fprintf(&plan, "%s\n", asText(vals[len(vals)-1]))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan.String()
}

func asText(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return fmt.Sprint(v)
}

var (
	// SQLite: "SCAN runs" reads the table whole; "SEARCH" uses an index
	// or the primary key on a constraint.
	sqliteScan = regexp.MustCompile(`(?m)^SCAN (\w+)( AS \w+)?\s*$`)
	// PostgreSQL: "Seq Scan on runs".
	postgresScan = regexp.MustCompile(`Seq Scan on (\w+)`)
)

// edgeQuery matches the statements of nested edges and their counts: they
// select by the parents' IDs (property_id IN (...)).
var edgeQuery = regexp.MustCompile("[`\"]\\w+_id[`\"] IN \\(")

var (
	sqliteOrgOnly   = regexp.MustCompile(`(?m)^SEARCH (\w+)( AS \w+)? USING (COVERING )?INDEX \w+ \(organization_id=\?\)\s*$`)
	postgresOrgOnly = regexp.MustCompile(`(?:Index (?:Only )?Scan using \w+ on (\w+)[^\n]*\n\s*Index Cond|Bitmap Heap Scan on (\w+)[^\n]*\n\s*Recheck Cond): \(organization_id = (?:\$\d+|'\d+'::bigint)\)\n`)
)

// orgOnlySearch names a history table that plan reads through the
// organization alone: in a single-brokerage database, all of it.
func orgOnlySearch(d string, plan string) string {
	re := sqliteOrgOnly
	if d == dialect.Postgres {
		re = postgresOrgOnly
	}
	for _, m := range re.FindAllStringSubmatch(plan, -1) {
		for _, table := range historyTables {
			if m[1] == table || (len(m) > 2 && m[2] == table) {
				return table
			}
		}
	}
	return ""
}

// fullScan names a history table that plan reads whole, or "".
func fullScan(d string, plan string) string {
	re := sqliteScan
	if d == dialect.Postgres {
		re = postgresScan
	}
	for _, m := range re.FindAllStringSubmatch(plan, -1) {
		for _, table := range historyTables {
			if m[1] == table {
				return table
			}
		}
	}
	return ""
}

// TestFullScanDetection: the plan reader catches the full scans that the
// databases report, and lets index searches pass.
func TestFullScanDetection(t *testing.T) {
	cases := []struct {
		dialect, plan, want string
	}{
		{dialect.SQLite, "SCAN runs\n", "runs"},
		{dialect.SQLite, "SEARCH runs USING INDEX run_organization_id_property_id (organization_id=? AND property_id=?)\n", ""},
		{dialect.SQLite, "SEARCH properties USING INDEX property_organization_id_status (organization_id=?)\nSCAN t1\n", ""},
		{dialect.SQLite, "SCAN run_events AS e\n", "run_events"},
		{dialect.SQLite, "SCAN organizations\n", ""},
		{dialect.Postgres, "Aggregate  (cost=10000000000.00..10000000001.00 rows=1 width=8)\n  ->  Seq Scan on runs  (cost=10000000000.00..10000000001.00 rows=1 width=0)\n", "runs"},
		{dialect.Postgres, "Index Only Scan using run_organization_id_property_id on runs  (cost=0.15..8.17 rows=1 width=8)\n", ""},
	}
	if !edgeQuery.MatchString("SELECT `t1`.`property_id`, COUNT(*) FROM `runs` AS `t1` WHERE `t1`.`property_id` IN (?, ?)") {
		t.Error("a nested edge's count is not recognised")
	}
	if got := orgOnlySearch(dialect.SQLite, "SEARCH tasks USING INDEX task_organization_id_status_due_at (organization_id=?)\n"); got != "tasks" {
		t.Errorf("an organization-only search of tasks: %q", got)
	}
	if got := orgOnlySearch(dialect.SQLite, "SEARCH tasks USING COVERING INDEX task_organization_id_client_id (organization_id=? AND client_id=?)\n"); got != "" {
		t.Errorf("a search by organization and client: %q", got)
	}
	pgTasks := "Bitmap Heap Scan on tasks  (cost=4.16..9.50 rows=2 width=8)\n  Recheck Cond: (organization_id = $1)\n  Filter: (client_id = ANY ($2))\n"
	if got := orgOnlySearch(dialect.Postgres, pgTasks); got != "tasks" {
		t.Errorf("PostgreSQL: an organization-only search of tasks: %q", got)
	}
	for _, c := range cases {
		if got := fullScan(c.dialect, c.plan); got != c.want {
			t.Errorf("%s plan %q: full scan of %q, want %q", c.dialect, c.plan, got, c.want)
		}
	}
}
