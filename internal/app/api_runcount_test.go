package app

import (
	"slices"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

// readsRuns reports whether a captured statement reads the runs table.
func readsRuns(q capturedQuery) bool {
	return strings.Contains(q.sql, "`runs`") || strings.Contains(q.sql, `"runs"`)
}

// TestNestedRunCountsAreStored checks that an unfiltered runs.totalCount of
// a property or a client comes from the count stored in its row, without
// reading the runs, which grow with history, and agrees with the runs;
// and that a filtered totalCount still counts the runs it matches.
func TestNestedRunCountsAreStored(t *testing.T) {
	t.Parallel()
	capture := &queryLog{}
	api := newTestAPI(t, testOptions{driver: func(d dialect.Driver) dialect.Driver {
		return &capturingDriver{Driver: d, log: capture}
	}})
	ctx := api.ctx()
	db := api.ent()
	pkg, err := db.WorkflowPackage.Create().SetKey("p").SetName("P").SetSubject(stepkind.SubjectProperty).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cust, err := db.Contact.Create().SetName("Ana").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Three homes: the first with 3 runs (2 succeeded, one of them Ana's),
	// the second with 1, the third with none; and Ana with one more run of
	// no property.
	statuses := [][]run.Status{{run.StatusSUCCEEDED, run.StatusSUCCEEDED, run.StatusFAILED}, {run.StatusQUEUED}, nil}
	for i, sts := range statuses {
		p, err := db.Property.Create().SetAddress(string(rune('A'+i)) + " St").SetCity("Austin").
			SetLatitude(30.2).SetLongitude(-97.7).Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for j, st := range sts {
			c := db.Run.Create().SetPackageID(pkg.ID).SetPackageVersion(1).SetPropertyID(p.ID).SetStatus(st)
			if i == 0 && j == 0 {
				c.SetClientID(cust.ID)
			}
			if _, err := c.Save(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := db.Run.Create().SetPackageID(pkg.ID).SetPackageVersion(1).SetClientID(cust.ID).Save(ctx); err != nil {
		t.Fatal(err)
	}

	type counted struct {
		TotalCount int `json:"totalCount"`
		Edges      []struct {
			Node struct{ ID string } `json:"node"`
		} `json:"edges"`
		PageInfo struct {
			HasNextPage bool `json:"hasNextPage"`
		} `json:"pageInfo"`
	}
	tests := []struct {
		name  string
		query string
		want  map[string][]int // per node, each alias's totalCount in order
		// countsRuns: a statement counts runs (filtered totals); otherwise
		// none may, and unless the query asks for edges, none reads them.
		countsRuns bool
		firstEdges int // edges of the first node's "all", when the query asks for them
	}{
		{
			name:  "unfiltered, counts only",
			query: `{ properties(first: 10, orderBy: {field: ADDRESS}) { edges { node { address all: runs(first: 10) { totalCount } } } } }`,
			want:  map[string][]int{"A St": {3}, "B St": {1}, "C St": {0}},
		},
		{
			name: "unfiltered with edges and pageInfo",
			query: `{ properties(first: 10, orderBy: {field: ADDRESS}) { edges { node { address
				all: runs(first: 2) { totalCount edges { node { id } } pageInfo { hasNextPage } } } } } }`,
			want:       map[string][]int{"A St": {3}, "B St": {1}, "C St": {0}},
			firstEdges: 2,
		},
		{
			name: "filtered beside unfiltered",
			query: `{ properties(first: 10, orderBy: {field: ADDRESS}) { edges { node { address
				all: runs(first: 1) { totalCount } done: runs(first: 1, where: {status: SUCCEEDED}) { totalCount } } } } }`,
			want:       map[string][]int{"A St": {3, 2}, "B St": {1, 0}, "C St": {0, 0}},
			countsRuns: true,
		},
		{
			name:  "a client's runs",
			query: `{ clients(first: 10) { edges { node { name all: runs(first: 10) { totalCount } } } } }`,
			want:  map[string][]int{"Ana": {2}},
		},
		{
			name:       "a client's runs, filtered",
			query:      `{ clients(first: 10) { edges { node { name all: runs(first: 10) { totalCount } done: runs(first: 10, where: {status: SUCCEEDED}) { totalCount } } } } }`,
			want:       map[string][]int{"Ana": {2, 1}},
			countsRuns: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var page map[string]struct {
				Edges []struct {
					Node struct {
						Address string   `json:"address"`
						Name    string   `json:"name"`
						All     *counted `json:"all"`
						Done    *counted `json:"done"`
					} `json:"node"`
				} `json:"edges"`
			}
			capture.record(true)
			api.do(tt.query, nil).ok(t, &page)
			sent := capture.record(false)
			got := map[string][]int{}
			for _, conn := range page {
				for i, e := range conn.Edges {
					n := e.Node
					key := n.Address + n.Name
					for _, c := range []*counted{n.All, n.Done} {
						if c != nil {
							got[key] = append(got[key], c.TotalCount)
						}
					}
					if i == 0 && tt.firstEdges > 0 {
						if len(n.All.Edges) != tt.firstEdges || !n.All.PageInfo.HasNextPage {
							t.Errorf("%s: %d edges, hasNextPage %v; want %d and true", key, len(n.All.Edges), n.All.PageInfo.HasNextPage, tt.firstEdges)
						}
					}
				}
			}
			if len(got) != len(tt.want) {
				t.Fatalf("totalCounts %v, want %v", got, tt.want)
			}
			for k, w := range tt.want {
				if !slices.Equal(got[k], w) {
					t.Fatalf("totalCounts %v, want %v", got, tt.want)
				}
			}
			read, counted := false, false
			for _, q := range sent {
				read = read || readsRuns(q)
				counted = counted || readsRuns(q) && strings.Contains(strings.ToUpper(q.sql), "COUNT(")
			}
			if counted != tt.countsRuns || (!tt.countsRuns && tt.firstEdges == 0 && read) {
				t.Errorf("counted runs: %v, want %v; read runs: %v; statements:\n%s", counted, tt.countsRuns, read, statements(sent))
			}
		})
	}
}

func statements(qs []capturedQuery) string {
	var b strings.Builder
	for _, q := range qs {
		b.WriteString(q.sql)
		b.WriteByte('\n')
	}
	return b.String()
}
