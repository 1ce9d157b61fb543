package app

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

func mustInt(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

type propertyPage struct {
	Properties struct {
		TotalCount int `json:"totalCount"`
		PageInfo   struct {
			HasNextPage     bool   `json:"hasNextPage"`
			HasPreviousPage bool   `json:"hasPreviousPage"`
			StartCursor     string `json:"startCursor"`
			EndCursor       string `json:"endCursor"`
		} `json:"pageInfo"`
		Edges []struct {
			Node struct {
				ListPrice int `json:"listPrice"`
			} `json:"node"`
		} `json:"edges"`
	} `json:"properties"`
}

func (p propertyPage) prices() []int {
	var out []int
	for _, e := range p.Properties.Edges {
		out = append(out, e.Node.ListPrice)
	}
	return out
}

func TestPaginationForwardAndBackward(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	for i := 1; i <= 7; i++ {
		api.do(fmt.Sprintf(`mutation { createProperty(input: {city: "Austin", latitude: 30.2, longitude: -97.7, listPrice: %d}) { id } }`, i*100000), nil).ok(t, nil)
	}
	const q = `query($first: Int, $after: Cursor, $last: Int, $before: Cursor) {
		properties(first: $first, after: $after, last: $last, before: $before, orderBy: {field: LIST_PRICE, direction: ASC}) {
			totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { listPrice } } } }`

	var forward []int
	var cursor any
	pages := 0
	for {
		var page propertyPage
		api.do(q, map[string]any{"first": 3, "after": cursor}).ok(t, &page)
		forward = append(forward, page.prices()...)
		pages++
		if !page.Properties.PageInfo.HasNextPage {
			break
		}
		cursor = page.Properties.PageInfo.EndCursor
	}
	if pages != 3 || fmt.Sprint(forward) != "[100000 200000 300000 400000 500000 600000 700000]" {
		t.Fatalf("forward: %d pages, %v", pages, forward)
	}

	var last propertyPage
	api.do(q, map[string]any{"last": 3}).ok(t, &last)
	if fmt.Sprint(last.prices()) != "[500000 600000 700000]" || !last.Properties.PageInfo.HasPreviousPage || last.Properties.TotalCount != 7 {
		t.Fatalf("last 3 = %v %+v", last.prices(), last.Properties.PageInfo)
	}
	var before propertyPage
	api.do(q, map[string]any{"last": 3, "before": last.Properties.PageInfo.StartCursor}).ok(t, &before)
	if fmt.Sprint(before.prices()) != "[200000 300000 400000]" || !before.Properties.PageInfo.HasPreviousPage {
		t.Fatalf("3 before = %v", before.prices())
	}
}

func TestPageSizeIsRequiredAndBounded(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	api.do(`{ properties { totalCount } }`, nil).wantError(t, "BAD_USER_INPUT", "properties.first")
	api.do(`{ clients(first: 101) { totalCount } }`, nil).wantError(t, "BAD_USER_INPUT", "clients.first")
	api.do(`query($n: Int) { runs(last: $n) { totalCount } }`, map[string]any{"n": 500}).wantError(t, "BAD_USER_INPUT", "runs.last")
	api.do(`{ clients(first: 2) { edges { node { interactions { totalCount } } } } }`, nil).wantError(t, "BAD_USER_INPUT", "interactions.first")
	api.do(`{ properties(first: 100) { totalCount } }`, nil).ok(t, nil)
}

// TestNodeResolvesEveryType creates one record of every type and looks each
// up through node(id:) and nodes(ids:).
func TestNodeResolvesEveryType(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	ctx := api.ctx()
	db := api.ent()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	user, err := db.User.Create().SetEmail("agent@example.com").SetName("Agent").Save(ctx)
	must(err)
	prop, err := db.Property.Create().SetCity("Austin").SetLatitude(30.2).SetLongitude(-97.7).Save(ctx)
	must(err)
	client, err := db.Contact.Create().SetName("Kim").Save(ctx)
	must(err)
	inter, err := db.Interaction.Create().SetClientID(client.ID).SetType("CALL").Save(ctx)
	must(err)
	pkg, err := db.WorkflowPackage.Create().SetKey("p").SetName("P").SetSubject(stepkind.SubjectProperty).Save(ctx)
	must(err)
	pstep, err := db.PackageStep.Create().SetPackageID(pkg.ID).SetKey("cma").SetName("CMA").SetKind(stepkind.CMAAnalysis).SetPosition(0).Save(ctx)
	must(err)
	run, err := db.Run.Create().SetPackageID(pkg.ID).SetPackageVersion(1).SetPropertyID(prop.ID).Save(ctx)
	must(err)
	srun, err := db.StepRun.Create().SetRunID(run.ID).SetKey("cma").SetName("CMA").SetKind(stepkind.CMAAnalysis).SetPosition(0).Save(ctx)
	must(err)
	event, err := db.RunEvent.Create().SetRunID(run.ID).SetSeq(1).SetType(runevent.TypeRUN_QUEUED).SetStatus("QUEUED").SetAt(time.Now()).Save(ctx)
	must(err)

	want := map[int]string{
		api.orgID: "Organization", user.ID: "User", prop.ID: "Property", client.ID: "Client", inter.ID: "Interaction",
		pkg.ID: "Package", pstep.ID: "PackageStep", run.ID: "Run", srun.ID: "StepRun", event.ID: "RunEvent",
	}
	var ids []int
	for id, typename := range want {
		ids = append(ids, id)
		var out struct {
			Node struct {
				ID       string `json:"id"`
				Typename string `json:"__typename"`
			} `json:"node"`
		}
		api.do(`query($id: ID!) { node(id: $id) { id __typename } }`, map[string]any{"id": id}).ok(t, &out)
		if out.Node.Typename != typename || out.Node.ID != strconv.Itoa(id) {
			t.Errorf("node(%d) = %+v, want a %s", id, out.Node, typename)
		}
	}
	api.do(`mutation($id: ID!) { deleteProperty(id: $id) }`, map[string]any{"id": prop.ID}).wantError(t, "CONFLICT", "id")
	api.do(`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": make([]int, 101)}).wantError(t, "BAD_USER_INPUT", "ids")

	var many struct {
		Nodes []struct {
			Typename string `json:"__typename"`
		} `json:"nodes"`
	}
	api.do(`query($ids: [ID!]!) { nodes(ids: $ids) { __typename } }`, map[string]any{"ids": ids}).ok(t, &many)
	for i, n := range many.Nodes {
		if n.Typename != want[ids[i]] {
			t.Errorf("nodes[%d] = %s, want %s", i, n.Typename, want[ids[i]])
		}
	}
}

// TestPropertyPageQueryCountIsConstant proves the absence of N+1 queries: a
// page of properties with nested edges costs the same number of SQL
// statements whether it holds 5 properties or 50.
func TestPropertyPageQueryCountIsConstant(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	ctx := api.ctx()
	pkg, err := api.ent().WorkflowPackage.Create().SetKey("p").SetName("P").SetSubject(stepkind.SubjectProperty).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		p, err := api.ent().Property.Create().SetCity("Austin").SetLatitude(30.2).SetLongitude(-97.7).SetListPrice(100000 + i).Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := api.ent().Run.Create().SetPackageID(pkg.ID).SetPackageVersion(1).SetPropertyID(p.ID).Save(ctx); err != nil {
			t.Fatal(err)
		}
	}
	const q = `query($n: Int) { properties(first: $n) { totalCount edges { node { id listPrice
		organization { slug }
		runs(first: 5) { totalCount edges { node { status package { key } } } } } } } }`
	countFor := func(n int) int {
		before := api.queries.Load()
		var page struct {
			Properties struct {
				Edges []struct {
					Node struct {
						Runs struct {
							TotalCount int `json:"totalCount"`
							Edges      []struct {
								Node struct {
									Package struct {
										Key string `json:"key"`
									} `json:"package"`
								} `json:"node"`
							} `json:"edges"`
						} `json:"runs"`
					} `json:"node"`
				} `json:"edges"`
			} `json:"properties"`
		}
		api.do(q, map[string]any{"n": n}).ok(t, &page)
		if len(page.Properties.Edges) != n {
			t.Fatalf("got %d properties, want %d", len(page.Properties.Edges), n)
		}
		for _, e := range page.Properties.Edges {
			if e.Node.Runs.TotalCount != 1 || e.Node.Runs.Edges[0].Node.Package.Key != "p" {
				t.Fatalf("nested runs not resolved: %+v", e.Node.Runs)
			}
		}
		return int(api.queries.Load() - before)
	}
	// Authentication costs two statements per request (token, user), plus a
	// last-used write at most once a minute, which this request takes.
	api.do(`{ viewer { role } }`, nil).ok(t, nil)
	small, large := countFor(5), countFor(50)
	if small != large {
		t.Fatalf("SQL statements: %d for 5 properties, %d for 50: the nested edges are loaded per row", small, large)
	}
	if large > 10 {
		t.Fatalf("%d SQL statements for one page; expected a handful", large)
	}
	t.Logf("SQL statements per page: %d (5 rows), %d (50 rows)", small, large)
}

func TestDepthAndComplexityLimits(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	// properties → runs → property → runs …: five rounds nest 23 fields deep.
	deep := "{ properties(first: 1) { edges { node { "
	for range 5 {
		deep += "runs(first: 1) { edges { node { property { "
	}
	deep += "id" + strings.Repeat(" } } } }", 5) + " } } } }"
	api.do(deep, nil).wantError(t, "DEPTH_LIMIT_EXCEEDED", "")

	// 1,000 aliases of a 50-item connection: 1,000 × (1 + 50 × 2).
	var many strings.Builder
	many.WriteString("{")
	for i := range 1000 {
		fmt.Fprintf(&many, " a%d: properties(first: 50) { edges { cursor } }", i)
	}
	many.WriteString(" }")
	e := api.do(many.String(), nil).wantError(t, "COMPLEXITY_LIMIT_EXCEEDED", "")
	if !strings.Contains(e.Message, "101000") {
		t.Fatalf("message %q does not state the complexity", e.Message)
	}
	// A page of 100 properties three connections deep, 100 × 100 × 100
	// items, is refused for its cost, not run.
	api.do(`{ clients(first: 100) { edges { node { runs(first: 100) { edges { node { events(first: 100) { edges { node { seq } } } } } } } } } }`, nil).
		wantError(t, "COMPLEXITY_LIMIT_EXCEEDED", "")
	// An ordinary page is well inside the limits.
	api.do(`{ properties(first: 100) { edges { node { id runs(first: 10) { edges { node { id status } } } } } } }`, nil).ok(t, nil)
}
