package app

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/estateflow/estateflow/ent/migrate"
	"github.com/estateflow/estateflow/graph/generated"
	"github.com/estateflow/estateflow/modules/analytics"
)

// The isolation matrix is generated from the GraphQL schema: every root
// field of Query, Mutation and Subscription gets its arguments built from
// their types, with org A's IDs wherever an ID goes, and is then called
//   - as org B, which must neither see nor change anything of A's, and must
//     get exactly what an unknown ID gets;
//   - without a token, which must be refused with UNAUTHENTICATED;
//   - as org A for queries and subscriptions, a positive control showing
//     that the same call does reach A's records (so the B checks are not
//     vacuous).
// A root field the generator cannot build a call for fails the test, so a
// new field is covered the day it is added.

// isolationProbe is the text written into org A's records: it must never
// reach org B.
const isolationProbe = "isolation-probe-a"

// orgARecords are IDs of org A's rows, by GraphQL type name.
type orgARecords map[string]string

func TestTenantIsolationMatrix(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{demo: true})
	records := seedOrgA(t, api)
	rival := rivalAdminToken(t, api)
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()
	gen := &callGenerator{schema: schema, records: records}

	// Fields that read nothing of any organization: the module registry is
	// the same for every one (TestStepKindsQuery checks it).
	orgFree := map[string]bool{"Query.stepKinds": true}
	var cases []isolationCase
	for _, root := range []*ast.Definition{schema.Query, schema.Mutation, schema.Subscription} {
		for _, f := range root.Fields {
			if strings.HasPrefix(f.Name, "__") || orgFree[root.Name+"."+f.Name] {
				continue
			}
			c, err := gen.build(root, f)
			if err != nil {
				t.Errorf("%s.%s is not covered by the isolation matrix: %v", root.Name, f.Name, err)
				continue
			}
			cases = append(cases, c...)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.root+"."+c.field] = true
	}
	for _, root := range []*ast.Definition{schema.Query, schema.Mutation, schema.Subscription} {
		for _, f := range root.Fields {
			if !strings.HasPrefix(f.Name, "__") && !orgFree[root.Name+"."+f.Name] && !covered[root.Name+"."+f.Name] {
				t.Fatalf("%s.%s has no case", root.Name, f.Name)
			}
		}
	}

	// Positive controls first: they run as A, and A's own subscription
	// control starts runs, which must finish before A's data is frozen.
	t.Run("control", func(t *testing.T) {
		for _, c := range cases {
			if c.root == "Mutation" {
				continue
			}
			t.Run(c.name, func(t *testing.T) { c.control(t, api, orgIDs(t, api, api.orgID)) })
		}
	})
	// Subscriptions cannot change data, and their org-wide case needs org A
	// to work meanwhile; they run before A's data is frozen.
	t.Run("other-org-subscriptions", func(t *testing.T) {
		for _, c := range cases {
			if c.root == "Subscription" {
				t.Run(c.name, func(t *testing.T) { c.asOtherOrg(t, api, rival, records, orgIDs(t, api, api.orgID)) })
			}
		}
	})
	waitForRunsToSettle(t, api)
	before := snapshotOrg(t, api, api.orgID)
	everyID := orgIDs(t, api, api.orgID)

	t.Run("other-org", func(t *testing.T) {
		for _, c := range cases {
			if c.root != "Subscription" {
				t.Run(c.name, func(t *testing.T) { c.asOtherOrg(t, api, rival, records, everyID) })
			}
		}
	})
	t.Run("unauthenticated", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) { c.unauthenticated(t, api) })
		}
	})

	t.Run("rest", func(t *testing.T) { restIsolation(t, api, rival, records, everyID) })

	waitForRunsToSettle(t, api)
	if after := snapshotOrg(t, api, api.orgID); !reflect.DeepEqual(before, after) {
		for table := range before {
			if !reflect.DeepEqual(before[table], after[table]) {
				t.Errorf("org B changed org A's %s:\nbefore %v\nafter  %v", table, before[table], after[table])
			}
		}
		for table := range after {
			if _, ok := before[table]; !ok {
				t.Errorf("org B created rows in org A's %s: %v", table, after[table])
			}
		}
	}
}

// restIsolation puts the legacy REST endpoints through the same checks as
// the GraphQL fields: A sees its runs, B gets what an unknown ID gets, and
// a call without a token gets 401.
func restIsolation(t *testing.T, api *testAPI, rival string, records orgARecords, aIDs map[string]bool) {
	type restRequest struct {
		method, path string
		body         map[string]any
	}
	call := func(token string, c restRequest) (int, string) {
		t.Helper()
		var body any
		if c.body != nil {
			body = c.body
		}
		r := restCall(t, api.srv.URL, token, c.method, c.path, body, nil)
		return r.status, string(r.raw)
	}
	run, pkg, property := records["Run"], records["Package"], records["Property"]
	tests := []struct {
		name           string
		withA, unknown restRequest
		controlStatus  int
	}{
		{"list runs", restRequest{"GET", "/api/v1/orchestration/runs?limit=100", nil}, restRequest{}, http.StatusOK},
		{"get run", restRequest{"GET", "/api/v1/orchestration/runs/" + run, nil},
			restRequest{"GET", "/api/v1/orchestration/runs/" + unknownID(run), nil}, http.StatusOK},
		{"start run", restRequest{"POST", "/api/v1/orchestration/runs", map[string]any{"packageId": pkg, "propertyId": property}},
			restRequest{"POST", "/api/v1/orchestration/runs", map[string]any{"packageId": unknownID(pkg), "propertyId": unknownID(property)}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.controlStatus != 0 {
				status, body := call(api.token, tt.withA)
				if status != tt.controlStatus || leakedFrom(json.RawMessage(body), aIDs) == "" {
					t.Fatalf("as org A: %d %s", status, body)
				}
			}
			status, body := call(rival, tt.withA)
			if status == http.StatusInternalServerError || strings.Contains(body, isolationProbe) {
				t.Fatalf("as org B: %d %s", status, body)
			}
			if tt.unknown.method == "" {
				if leaked := leakedFrom(json.RawMessage(body), aIDs); leaked != "" {
					t.Fatalf("org B reads org A's %s: %s", leaked, body)
				}
			} else {
				uStatus, uBody := call(rival, tt.unknown)
				norm := func(s string) string {
					for _, id := range []string{run, pkg, property, unknownID(run), unknownID(pkg), unknownID(property)} {
						s = strings.ReplaceAll(s, id, "<id>")
					}
					return s
				}
				if status != uStatus || norm(body) != norm(uBody) || status != http.StatusNotFound {
					t.Fatalf("org A's IDs are told apart from unknown IDs:\nwith A's IDs:    %d %s\nwith unknown IDs: %d %s", status, body, uStatus, uBody)
				}
			}
			if status, body := call("", tt.withA); status != http.StatusUnauthorized || !strings.Contains(body, "UNAUTHENTICATED") {
				t.Fatalf("without a token: %d %s", status, body)
			}
		})
	}
}

// isolationCase is one generated call of one root field.
type isolationCase struct {
	root, field, name string
	query             string
	vars              map[string]any // with org A's IDs
	unknownVars       map[string]any // the same with IDs that do not exist
	usesIDs           []string       // org A's IDs in vars
}

// control runs the call as org A and wants A's records back.
func (c isolationCase) control(t *testing.T, api *testAPI, ownIDs map[string]bool) {
	if c.root == "Subscription" {
		c.controlSubscription(t, api)
		return
	}
	r := api.do(c.query, c.vars)
	if len(r.Errors) > 0 {
		t.Fatalf("as org A: %+v", r.Errors)
	}
	if leakedFrom(r.Data, ownIDs) == "" {
		t.Fatalf("as org A the call returns none of A's records, so the other-org check would prove nothing: %s", r.Data)
	}
}

// asOtherOrg runs the call as org B.
func (c isolationCase) asOtherOrg(t *testing.T, api *testAPI, rival string, records orgARecords, aIDs map[string]bool) {
	if c.root == "Subscription" {
		c.otherOrgSubscription(t, api, rival, aIDs)
		return
	}
	got := api.postAs(rival, "application/json", mustJSON(t, map[string]any{"query": c.query, "variables": c.vars}))
	raw := mustJSON(t, got)
	if leaked := leakedFrom(got.Data, aIDs); leaked != "" {
		t.Fatalf("org B reads org A's %s: %s", leaked, raw)
	}
	if strings.Contains(string(raw), isolationProbe) {
		t.Fatalf("org B reads org A's data: %s", raw)
	}
	for _, e := range got.Errors {
		if code := e.Extensions["code"]; code == "INTERNAL" {
			t.Fatalf("org B's call fails internally instead of cleanly: %+v", e)
		}
	}
	if len(c.usesIDs) == 0 {
		return
	}
	if len(got.Errors) == 0 {
		t.Fatalf("org B's call with org A's IDs succeeds: %s", raw)
	}
	unknown := api.postAs(rival, "application/json", mustJSON(t, map[string]any{"query": c.query, "variables": c.unknownVars}))
	if a, u := normalizeIDs(string(raw), c.vars), normalizeIDs(string(mustJSON(t, unknown)), c.unknownVars); a != u {
		t.Fatalf("org A's IDs are told apart from unknown IDs:\nwith A's IDs:    %s\nwith unknown IDs: %s", a, u)
	}
}

// unauthenticated runs the call without a token.
func (c isolationCase) unauthenticated(t *testing.T, api *testAPI) {
	if c.root == "Subscription" {
		wsRefused(t, api.srv.URL, "")
		return
	}
	got := api.postAs("", "application/json", mustJSON(t, map[string]any{"query": c.query, "variables": c.vars}))
	if len(got.Errors) == 0 || got.Errors[0].Extensions["code"] != "UNAUTHENTICATED" {
		t.Fatalf("without a token: %s", mustJSON(t, got))
	}
	if d := strings.TrimSpace(string(got.Data)); d != "" && d != "null" {
		t.Fatalf("without a token the call returns data: %s", d)
	}
}

func (c isolationCase) controlSubscription(t *testing.T, api *testAPI) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sub := openSubscription(t, ctx, api, api.token, c.query, c.vars)
	defer sub.Close(websocket.StatusNormalClosure, "")
	if len(c.usesIDs) == 0 {
		// An org-wide stream: make A's data move.
		startIsolationRun(t, api)
	}
	msg := readSubscriptionMessage(t, ctx, sub)
	if msg.Type != "next" {
		t.Fatalf("as org A the subscription sends %s %s, want data", msg.Type, msg.Payload)
	}
}

func (c isolationCase) otherOrgSubscription(t *testing.T, api *testAPI, rival string, aIDs map[string]bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if len(c.usesIDs) == 0 {
		// B listens while A works; A's own listener proves A's events flow.
		sub := openSubscription(t, ctx, api, rival, c.query, c.vars)
		defer sub.Close(websocket.StatusNormalClosure, "")
		control := openSubscription(t, ctx, api, api.token, c.query, c.vars)
		defer control.Close(websocket.StatusNormalClosure, "")
		startIsolationRun(t, api)
		if msg := readSubscriptionMessage(t, ctx, control); msg.Type != "next" {
			t.Fatalf("org A's control subscription got %s %s", msg.Type, msg.Payload)
		}
		quiet, stop := context.WithTimeout(ctx, 500*time.Millisecond)
		defer stop()
		var msg subscriptionMessage
		if err := wsjson.Read(quiet, sub, &msg); err == nil {
			t.Fatalf("org B's org-wide subscription received %s %s while org A worked", msg.Type, msg.Payload)
		}
		return
	}
	first := func(vars map[string]any) string {
		sub := openSubscription(t, ctx, api, rival, c.query, vars)
		defer sub.Close(websocket.StatusNormalClosure, "")
		msg := readSubscriptionMessage(t, ctx, sub)
		var p struct {
			Data   json.RawMessage `json:"data"`
			Errors []any           `json:"errors"`
		}
		_ = json.Unmarshal(msg.Payload, &p)
		if len(p.Errors) == 0 {
			t.Fatalf("org B subscribed to org A's records: %s %s", msg.Type, msg.Payload)
		}
		if leakedFrom(p.Data, aIDs) != "" || strings.Contains(string(msg.Payload), isolationProbe) {
			t.Fatalf("org B's refusal shows org A's data: %s", msg.Payload)
		}
		return normalizeIDs(msg.Type+" "+string(msg.Payload), vars)
	}
	if a, u := first(c.vars), first(c.unknownVars); a != u {
		t.Fatalf("org A's IDs are told apart from unknown IDs:\nwith A's IDs:    %s\nwith unknown IDs: %s", a, u)
	}
	if !strings.Contains(first(c.vars), "NOT_FOUND") {
		t.Fatalf("org B's subscription to org A's record is not refused as NOT_FOUND")
	}
}

// callGenerator builds calls of root fields from the schema.
type callGenerator struct {
	schema  *ast.Schema
	records orgARecords
}

// build returns the cases for one root field: one call, or for node one per
// type of record.
func (g *callGenerator) build(root *ast.Definition, f *ast.FieldDefinition) ([]isolationCase, error) {
	selection, err := g.selection(f.Type, 0)
	if err != nil {
		return nil, err
	}
	if f.Name == "node" { // one call per type of record A has
		var out []isolationCase
		for _, typ := range g.records.types() {
			c, err := g.call(root, f, selection, map[string]string{"id": typ})
			if err != nil {
				return nil, err
			}
			c.name += "/" + typ
			out = append(out, c)
		}
		return out, nil
	}
	c, err := g.call(root, f, selection, nil)
	if err != nil {
		return nil, err
	}
	return []isolationCase{c}, nil
}

func (g *callGenerator) call(root *ast.Definition, f *ast.FieldDefinition, selection string, idTypes map[string]string) (isolationCase, error) {
	c := isolationCase{root: root.Name, field: f.Name, name: root.Name + "." + f.Name,
		vars: map[string]any{}, unknownVars: map[string]any{}}
	var params, args []string
	for _, a := range f.Arguments {
		owner := idTypes[a.Name]
		if owner == "" {
			owner = g.ownerOfField(f)
		}
		val, unknown, ids, ok, err := g.value(a.Name, a.Type, owner, 0)
		if err != nil {
			return c, fmt.Errorf("argument %s: %w", a.Name, err)
		}
		if !ok {
			continue
		}
		params = append(params, "$"+a.Name+": "+a.Type.String())
		args = append(args, a.Name+": $"+a.Name)
		c.vars[a.Name], c.unknownVars[a.Name] = val, unknown
		c.usesIDs = append(c.usesIDs, ids...)
	}
	op := strings.ToLower(root.Name)
	var b strings.Builder
	b.WriteString(op)
	if len(params) > 0 {
		b.WriteString("(" + strings.Join(params, ", ") + ")")
	}
	b.WriteString(" { " + f.Name)
	if len(args) > 0 {
		b.WriteString("(" + strings.Join(args, ", ") + ")")
	}
	b.WriteString(selection + " }")
	c.query = b.String()
	return c, nil
}

// ownerOfField is the record type an "id" argument names: the field's
// object type (updateClient returns a Client), or for fields returning a
// bare ID the name after the verb (deleteClient).
func (g *callGenerator) ownerOfField(f *ast.FieldDefinition) string {
	if def := g.schema.Types[f.Type.Name()]; def != nil && def.Kind == ast.Object && def.Fields.ForName("id") != nil {
		return def.Name
	}
	name := f.Name
	for i, r := range name {
		if r >= 'A' && r <= 'Z' {
			return name[i:]
		}
	}
	return ""
}

// value builds a value of typ for an argument or input field. ok is false
// for optional values the call does without. Every ID is one of org A's
// (and in unknown, one that does not exist).
func (g *callGenerator) value(name string, typ *ast.Type, owner string, depth int) (val, unknown any, ids []string, ok bool, err error) {
	if depth > 4 {
		return nil, nil, nil, false, fmt.Errorf("input nests too deep at %s", name)
	}
	idName := isIDName(name)
	if !typ.NonNull && !idName && name != "first" {
		return nil, nil, nil, false, nil
	}
	if name == "ids" && typ.Elem != nil { // nodes(ids:): every record A has
		var all, unknowns []any
		for _, typ := range g.records.types() {
			all = append(all, g.records[typ])
			unknowns = append(unknowns, unknownID(g.records[typ]))
			ids = append(ids, g.records[typ])
		}
		return all, unknowns, ids, true, nil
	}
	if typ.Elem != nil {
		v, u, ids, ok, err := g.value(name, typ.Elem, owner, depth+1)
		if err != nil || !ok {
			return nil, nil, nil, ok, err
		}
		return []any{v}, []any{u}, ids, true, nil
	}
	def := g.schema.Types[typ.Name()]
	if def == nil {
		return nil, nil, nil, false, fmt.Errorf("unknown type %s", typ.Name())
	}
	switch {
	case def.Name == "ID":
		target := idTarget(name, owner)
		id, found := g.records[target]
		if !found {
			return nil, nil, nil, false, fmt.Errorf("cannot tell which record %q names (guessed %q; org A has %v)", name, target, g.records.types())
		}
		return id, unknownID(id), []string{id}, true, nil
	case def.Kind == ast.Enum:
		return def.EnumValues[0].Name, def.EnumValues[0].Name, nil, true, nil
	case def.Kind == ast.InputObject:
		obj, unk := map[string]any{}, map[string]any{}
		for _, fd := range def.Fields {
			v, u, fieldIDs, ok, err := g.value(fd.Name, fd.Type, owner, depth+1)
			if err != nil {
				return nil, nil, nil, false, fmt.Errorf("%s.%w", def.Name, err)
			}
			if ok {
				obj[fd.Name], unk[fd.Name] = v, u
				ids = append(ids, fieldIDs...)
			}
		}
		return obj, unk, ids, true, nil
	}
	v, err := scalarSample(name, def.Name)
	return v, v, nil, err == nil, err
}

// scalarSample is a valid value of a scalar: the calls must get past input
// validation to reach the organization checks.
func scalarSample(name, scalar string) (any, error) {
	switch scalar {
	case "String":
		if strings.Contains(strings.ToLower(name), "key") {
			return "isolation-b", nil
		}
		return "Isolation check by org B", nil
	case "Int":
		if name == "first" {
			return 5, nil
		}
		return 1, nil
	case "Float":
		return 1.0, nil
	case "Boolean":
		return false, nil
	case "Time":
		return time.Now().Add(30 * 24 * time.Hour).UTC().Format(time.RFC3339), nil
	case "Map":
		return map[string]any{}, nil
	}
	return nil, fmt.Errorf("no sample value for scalar %s (field %s)", scalar, name)
}

// selection asks for every ID the result can carry, one level into
// connections, nested objects and unions.
func (g *callGenerator) selection(typ *ast.Type, depth int) (string, error) {
	def := g.schema.Types[typ.Name()]
	if def == nil {
		return "", fmt.Errorf("unknown type %s", typ.Name())
	}
	switch def.Kind {
	case ast.Scalar, ast.Enum:
		return "", nil
	case ast.Union, ast.Interface:
		return " { __typename ... on Node { id } }", nil
	}
	parts := []string{"__typename"}
	if def.Fields.ForName("edges") != nil {
		node, err := g.selection(def.Fields.ForName("edges").Type.Elem, depth+1)
		if err != nil {
			return "", err
		}
		return " { totalCount edges" + node + " }", nil
	}
	if def.Name == strings.TrimSuffix(def.Name, "Edge")+"Edge" && def.Fields.ForName("node") != nil {
		node, err := g.selection(def.Fields.ForName("node").Type, depth+1)
		return " { node" + node + " }", err
	}
	for _, fd := range def.Fields {
		if fd.Type.Name() == "ID" {
			parts = append(parts, fd.Name)
			continue
		}
		if depth > 1 || hasRequiredArgs(fd) {
			continue
		}
		inner := g.schema.Types[fd.Type.Name()]
		if inner == nil || inner.Kind != ast.Object || inner.Fields.ForName("edges") != nil {
			continue
		}
		sub, err := g.selection(fd.Type, depth+1)
		if err != nil {
			return "", err
		}
		if strings.Contains(sub, "id") || strings.Contains(sub, "Id") {
			parts = append(parts, fd.Name+sub)
		}
	}
	return " { " + strings.Join(parts, " ") + " }", nil
}

func hasRequiredArgs(f *ast.FieldDefinition) bool {
	for _, a := range f.Arguments {
		if a.Type.NonNull {
			return true
		}
	}
	return false
}

// isIDName reports whether an argument or input field holds record IDs:
// "id", "runId", "clientID", "propertyIDs"...
func isIDName(name string) bool {
	return name == "id" || name == "ids" || strings.HasSuffix(name, "Id") || strings.HasSuffix(name, "ID") ||
		strings.HasSuffix(name, "Ids") || strings.HasSuffix(name, "IDs")
}

// idTarget is the GraphQL type an ID argument names: clientID → Client.
func idTarget(name, owner string) string {
	if name == "id" {
		return owner
	}
	for _, suffix := range []string{"IDs", "Ids", "ID", "Id"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			for _, verb := range []string{"add", "remove"} {
				if rest, ok := strings.CutPrefix(base, verb); ok && rest != "" {
					base = rest
				}
			}
			return strings.ToUpper(base[:1]) + base[1:]
		}
	}
	return ""
}

// unknownID is an ID of the same type as id that no row has: the lower 32
// bits of a global ID count rows within the type's range.
func unknownID(id string) string {
	n, _ := strconv.Atoi(id)
	return strconv.Itoa(n>>32<<32 | 0x7ffffff0)
}

// normalizeIDs replaces the IDs a call used by their argument path, so that
// the answers to org A's IDs and to unknown IDs can be compared.
func normalizeIDs(s string, vars map[string]any) string {
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case string:
			if _, err := strconv.Atoi(v); err == nil {
				s = regexp.MustCompile(`\b`+v+`\b`).ReplaceAllString(s, "<"+path+">")
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case map[string]any:
			for k, e := range v {
				walk(path+"."+k, e)
			}
		}
	}
	walk("", vars)
	return s
}

func (r orgARecords) types() []string {
	types := make([]string, 0, len(r))
	for typ := range r {
		types = append(types, typ)
	}
	sort.Strings(types)
	return types
}

// leakedFrom returns the first string in a JSON document that is one of
// ids: GraphQL carries IDs as strings.
func leakedFrom(doc json.RawMessage, ids map[string]bool) string {
	var v any
	if len(doc) == 0 || json.Unmarshal(doc, &v) != nil {
		return ""
	}
	var walk func(v any) string
	walk = func(v any) string {
		switch v := v.(type) {
		case string:
			if ids[v] {
				return v
			}
		case []any:
			for _, e := range v {
				if hit := walk(e); hit != "" {
					return hit
				}
			}
		case map[string]any:
			for _, e := range v {
				if hit := walk(e); hit != "" {
					return hit
				}
			}
		}
		return ""
	}
	return walk(v)
}

// orgColumnOf is the column that names a table's organization.
func orgColumnOf(table string) string {
	if table == "organizations" {
		return "id"
	}
	return "organization_id"
}

// waitForRows waits until the count of the organization's rows of table
// that match where satisfies done.
func waitForRows(t *testing.T, api *testAPI, table, where string, done func(n int) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := api.db.SQL.QueryRow(fmt.Sprintf(`SELECT count(*) FROM %q WHERE organization_id = %d AND %s`, table, api.orgID, where)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if done(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d %s rows match %s after 30s", n, table, where)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// orgIDs returns the ID of every row an organization owns.
func orgIDs(t *testing.T, api *testAPI, orgID int) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for _, table := range migrate.Tables {
		column := orgColumnOf(table.Name)
		rows, err := api.db.SQL.Query(fmt.Sprintf(`SELECT id FROM %q WHERE %s = %d`, table.Name, column, orgID))
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids[strconv.Itoa(id)] = true
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// seedOrgA gives org A (the demo org) one record of every type, through the
// API and its real step executors, and returns one ID of each type as
// GraphQL resolves it.
func seedOrgA(t *testing.T, api *testAPI) orgARecords {
	t.Helper()
	var setup struct {
		CreateClient   struct{ ID string }                 `json:"createClient"`
		Properties     connectionIDs                       `json:"properties"`
		Packages       connectionIDs                       `json:"packages"`
		CreateApiToken struct{ Token struct{ ID string } } `json:"createApiToken"`
		LeadNurture    connectionIDs                       `json:"leadNurture"`
	}
	api.do(`mutation { createClient(input: {name: "`+isolationProbe+`", email: "`+isolationProbe+`@example.com", phone: "+1 512 555 0199",
		source: REFERRAL, preApproved: true, moveTimeline: 1, budgetMin: 300000, budgetMax: 900000, emailOptIn: true, smsOptIn: true}) { id } createApiToken(name: "`+isolationProbe+`") { token { id } } }`, nil).ok(t, &setup)
	api.do(`{ properties(first: 1, where: {status: ACTIVE}) { edges { node { id } } }
		packages(first: 1, where: {key: "new-listing"}) { edges { node { id } } }
		leadNurture: packages(first: 1, where: {key: "lead-nurture"}) { edges { node { id } } } }`, nil).ok(t, &setup)
	client, property := setup.CreateClient.ID, setup.Properties.first(t)
	api.do(`mutation($c: ID!) { createInteraction(input: {clientID: $c, type: CALL, note: "`+isolationProbe+`"}) { id } }`,
		map[string]any{"c": client}).ok(t, nil)
	api.do(`mutation { createSchedule(input: {name: "`+isolationProbe+`", cron: "0 9 * * 1", packageKey: "lead-nurture"}) { id } }`, nil).ok(t, nil)
	// A rule on an event the seeding never causes, so that it starts
	// nothing, and an endpoint that receives the runs' ends: their
	// deliveries and outbox messages are org A's too.
	api.do(`mutation { createAutomationRule(input: {name: "`+isolationProbe+`", event: CLIENT_STAGE_CHANGED, packageKey: "lead-nurture"}) { id } }`, nil).ok(t, nil)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(receiver.Close)
	var endpoint struct {
		CreateWebhookEndpoint struct{ Endpoint struct{ ID string } } `json:"createWebhookEndpoint"`
	}
	api.do(`mutation($url: String!) { createWebhookEndpoint(input: {url: $url, description: "`+isolationProbe+`", eventTypes: ["RUN_FINISHED"]}) { endpoint { id } } }`,
		map[string]any{"url": receiver.URL}).ok(t, &endpoint)
	api.do(`mutation($c: ID!, $p: ID!) { createTransaction(input: {clientID: $c, propertyID: $p, side: BUYER, price: 450000,
		acceptanceDate: "2026-12-01T00:00:00Z", closingDate: "2026-12-30T00:00:00Z"}) { id } }`,
		map[string]any{"c": client, "p": property}).ok(t, nil)
	api.do(`mutation($pkg: ID!, $p: ID!) { startRun(input: {packageId: $pkg, propertyId: $p, params: {listingStartDate: "2026-12-07"}}) { id } }`,
		map[string]any{"pkg": setup.Packages.first(t), "p": property}).ok(t, nil)
	api.do(`mutation($pkg: ID!, $c: ID!) { startRun(input: {packageId: $pkg, clientId: $c}) { id } }`,
		map[string]any{"pkg": setup.LeadNurture.first(t), "c": client}).ok(t, nil)
	waitForRunsToSettle(t, api)
	waitForRows(t, api, "webhook_deliveries", "TRUE", func(n int) bool { return n > 0 })
	// Then the endpoint is switched off and its last messages delivered,
	// so that no delivery changes org A's rows while B is probing them.
	api.do(`mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {enabled: false}) { id } }`,
		map[string]any{"id": endpoint.CreateWebhookEndpoint.Endpoint.ID}).ok(t, nil)
	waitForRows(t, api, "outbox_messages", "status = 'PENDING'", func(n int) bool { return n == 0 })
	// A notification: only an endpoint that fails for good makes one
	// through the API, so it is written directly, as the webhook sender
	// writes it.
	api.ent().Notification.Create().SetOrganizationID(api.orgID).SetKind("WEBHOOK_ENDPOINT_DISABLED").
		SetTitle(isolationProbe).SetBody(isolationProbe).ExecX(api.ctx())
	// A CMA calibration: GraphQL does not expose it, but org A's CMAs read
	// it, so B must neither see nor change it.
	samples := make([]analytics.CalibrationSample, 90)
	for i := range samples {
		samples[i] = analytics.CalibrationSample{Estimate: 400000, Price: 400000 * (0.85 + 0.3*float64(i)/89), Spread: 0.02 + 0.001*float64(i)}
	}
	cal, why := analytics.Calibrate(samples, time.Now())
	if cal == nil {
		t.Fatalf("calibrating org A: %s", why)
	}
	if err := analytics.SaveCalibration(api.ctx(), api.ent(), cal); err != nil {
		t.Fatal(err)
	}

	// One row of every table, named by the type GraphQL gives it.
	records := orgARecords{}
	for _, table := range migrate.Tables {
		column := orgColumnOf(table.Name)
		var id int
		err := api.db.SQL.QueryRow(fmt.Sprintf(`SELECT id FROM %q WHERE %s = %d ORDER BY id DESC LIMIT 1`, table.Name, column, api.orgID)).Scan(&id)
		if err == sql.ErrNoRows {
			t.Fatalf("org A has no %s: seed one", table.Name)
		}
		if err != nil {
			t.Fatal(err)
		}
		var node struct {
			Node *struct {
				Typename string `json:"__typename"`
			} `json:"node"`
		}
		if notInGraphQL(table.Name) {
			continue // seeded, and covered by the snapshots, but it has no node
		}
		api.do(`query($id: ID!) { node(id: $id) { __typename } }`, map[string]any{"id": strconv.Itoa(id)}).ok(t, &node)
		if node.Node != nil {
			records[node.Node.Typename] = strconv.Itoa(id)
		}
	}
	for _, want := range []string{"Client", "Property", "Package", "Run", "Task", "EmailMessage", "ScheduledPost", "Transaction", "APIToken", "User", "Organization", "Interaction", "Schedule"} {
		if _, ok := records[want]; !ok {
			t.Fatalf("org A has no %s node; seeded %v", want, records.types())
		}
	}
	records["Client"] = client // the one carrying the probe
	return records
}

// notInGraphQL are the tables whose schema skips GraphQL (entgql.Skip):
// reached only through the fields that read them (cma_calibrations through
// cma), they have no node of their own.
func notInGraphQL(table string) bool {
	return table == "cma_calibrations" || table == "outbox_messages"
}

type connectionIDs struct {
	Edges []struct{ Node struct{ ID string } } `json:"edges"`
}

func (c connectionIDs) first(t *testing.T) string {
	t.Helper()
	if len(c.Edges) == 0 {
		t.Fatal("empty connection")
	}
	return c.Edges[0].Node.ID
}

// rivalAdminToken returns an ADMIN token of a second organization, which
// has records of its own so that its lists are not empty by accident.
func rivalAdminToken(t *testing.T, api *testAPI) string {
	t.Helper()
	token, _ := rivalToken(t, api)
	api.postAs(token, "application/json", []byte(`{"query": "mutation { createClient(input: {name: \"Rival client\"}) { id } }"}`)).ok(t, nil)
	return token
}

// startIsolationRun starts a CMA-only custom package for one of A's
// properties.
func startIsolationRun(t *testing.T, api *testAPI) {
	t.Helper()
	var setup struct {
		Properties connectionIDs `json:"properties"`
		Packages   connectionIDs `json:"packages"`
	}
	api.do(`{ properties(first: 1, where: {status: ACTIVE}) { edges { node { id } } }
		packages(first: 1, where: {key: "new-listing"}) { edges { node { id } } } }`, nil).ok(t, &setup)
	api.do(`mutation($pkg: ID!, $p: ID!) { startRun(input: {packageId: $pkg, propertyId: $p, params: {listingStartDate: "2026-12-07"}}) { id } }`,
		map[string]any{"pkg": setup.Packages.first(t), "p": setup.Properties.first(t)}).ok(t, nil)
}

// waitForRunsToSettle waits until no run of the test org is still working.
func waitForRunsToSettle(t *testing.T, api *testAPI) {
	t.Helper()
	runs, err := api.ent().Run.Query().IDs(api.ctx())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range runs {
		api.waitRun(t, id)
	}
}

// snapshotOrg reads every row of an organization, table by table.
func snapshotOrg(t *testing.T, api *testAPI, orgID int) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range migrate.Tables {
		column := orgColumnOf(table.Name)
		rows, err := api.db.SQL.Query(fmt.Sprintf(`SELECT * FROM %q WHERE %s = %d ORDER BY id`, table.Name, column, orgID))
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var line []string
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				line = append(line, fmt.Sprintf("%s=%v", cols[i], v))
			}
			out[table.Name] = append(out[table.Name], strings.Join(line, " "))
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

type subscriptionMessage struct {
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

// openSubscription opens a graphql-transport-ws connection and subscribes.
func openSubscription(t *testing.T, ctx context.Context, api *testAPI, token, query string, vars map[string]any) *websocket.Conn {
	t.Helper()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(api.srv.URL, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + token}}); err != nil {
		t.Fatal(err)
	}
	if msg := readSubscriptionMessage(t, ctx, conn); msg.Type != "connection_ack" {
		t.Fatalf("connection_init: %s %s", msg.Type, msg.Payload)
	}
	if err := wsjson.Write(ctx, conn, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars}}); err != nil {
		t.Fatal(err)
	}
	return conn
}

func readSubscriptionMessage(t *testing.T, ctx context.Context, conn *websocket.Conn) subscriptionMessage {
	t.Helper()
	for {
		var msg subscriptionMessage
		if err := wsjson.Read(ctx, conn, &msg); err != nil {
			t.Fatalf("read: %v", err)
		}
		if !slices.Contains([]string{"ka", "ping", "pong"}, msg.Type) {
			return msg
		}
	}
}
