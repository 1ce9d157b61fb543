package app

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/property"
	runstatus "github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/importer"
	"github.com/estateflow/estateflow/internal/testdb"
)

// fastNewListing stands in for New Listing's executors: the test is about
// which runs start.
func fastNewListing() func(*ent.Client) map[stepkind.Kind]engine.Executor {
	ok := engine.ExecutorFunc(func(context.Context, *engine.StepContext) (any, error) { return map[string]any{}, nil })
	return executorsOf(map[stepkind.Kind]engine.Executor{
		stepkind.CMAAnalysis: ok, stepkind.ListingStrategy: ok, stepkind.MarketingCampaign: ok, stepkind.SocialScheduling: ok,
	})
}

// listingRuns counts the runs of each imported property, by its id in the
// file, and waits for each to end.
func (a *testAPI) listingRuns(t *testing.T) map[string]int {
	t.Helper()
	props, err := a.ent().Property.Query().Where(property.ExternalRefNotNil()).All(a.ctx())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, p := range props {
		runs, err := a.ent().Run.Query().Where(runstatus.PropertyID(p.ID)).All(a.ctx())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			a.waitRun(t, r.ID)
		}
		if len(runs) > 0 {
			out[*p.ExternalRef] = len(runs)
		}
	}
	return out
}

func sameCounts(a, b map[string]int) bool {
	return fmt.Sprint(a) == fmt.Sprint(b) // fmt sorts map keys
}

const importHeader = "id,address,city,zip,latitude,longitude,property_type,beds,baths,sqft,sale_price,sale_date,status,list_price\n"

// TestImportTriggersOneRunPerListingThatBecameActive: a rule on
// PROPERTY_STATUS_CHANGED to ACTIVE starts New Listing once per imported
// property whose status became ACTIVE: a new active row, or a row that
// changed to active. The import command writes the triggers with no
// engine running (the server started next starts the runs), an import in
// the server's process through its engine; importing a file again starts
// nothing more.
func TestImportTriggersOneRunPerListingThatBecameActive(t *testing.T) {
	t.Parallel()
	url := testdb.URL(t)
	first := newTestAPI(t, testOptions{executors: fastNewListing(), dbURL: url})
	ruleID := first.createRule(t, map[string]any{"name": "Market new listings", "event": "PROPERTY_STATUS_CHANGED",
		"toStage": "ACTIVE", "packageKey": "new-listing"})
	org, err := first.ent().Organization.Get(first.ctx(), first.orgID)
	if err != nil {
		t.Fatal(err)
	}
	first.close()

	dir := t.TempDir()
	writeCSV := func(name, rows string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(importHeader+rows), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	v1 := writeCSV("v1.csv",
		"e1,1 Cedar,Sacramento,95820,38.5,-121.4,condo,2,1,900,,,active,300000\n"+
			"e2,2 Cedar,Sacramento,95820,38.5,-121.4,condo,2,1,900,,,active,310000\n"+
			"e3,3 Cedar,Sacramento,95820,38.5,-121.4,condo,2,1,900,,,pending,320000\n"+
			"e4,4 Cedar,Sacramento,95820,38.5,-121.4,condo,2,1,900,250000,2024-05-01,sold,\n")
	command := func(path, want string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		err := Import(context.Background(), []string{"properties", "--org", org.Slug, "--database-url", url,
			"--db-max-conns", "4", "--demo=false", path}, &stdout, &stderr)
		if err != nil || !strings.Contains(stdout.String(), want) {
			t.Fatalf("import %s: %v\n%s%s", filepath.Base(path), err, stdout.String(), stderr.String())
		}
	}

	// The command, with no server running: the triggers wait in the
	// database, and the server started next starts the runs.
	command(v1, "imported 4, updated 0, unchanged 0, rejected 0")
	api := newTestAPI(t, testOptions{executors: fastNewListing(), dbURL: url})
	api.waitTriggers(t)
	if n := len(api.triggerMessages(t)); n != 2 {
		t.Fatalf("the import recorded %d triggers, want 2 (e1, e2)", n)
	}
	if got, want := api.listingRuns(t), map[string]int{"e1": 1, "e2": 1}; !sameCounts(got, want) {
		t.Fatalf("after the import: runs %v, want %v", got, want)
	}
	e1 := api.ent().Property.Query().Where(property.ExternalRef("e1")).OnlyX(api.ctx())
	run := api.ent().Run.Query().Where(runstatus.PropertyID(e1.ID)).OnlyX(api.ctx())
	var out struct {
		Node struct {
			Trigger struct {
				Kind, Event string
				RuleID      string `json:"ruleId"`
				RecordID    string `json:"recordId"`
				From, To    *string
			}
		}
	}
	api.do(`query($id: ID!) { node(id: $id) { ... on Run { trigger { kind ruleId event recordId from to } } } }`,
		map[string]any{"id": fmt.Sprint(run.ID)}).ok(t, &out)
	if tr := out.Node.Trigger; tr.Kind != "RULE" || tr.RuleID != ruleID || tr.Event != "PROPERTY_STATUS_CHANGED" ||
		tr.RecordID != fmt.Sprint(e1.ID) || tr.From != nil || tr.To == nil || *tr.To != "ACTIVE" {
		t.Fatalf("e1's run trigger: %+v", tr)
	}

	// The same file again, while the server runs: nothing changes, nothing
	// starts.
	command(v1, "imported 0, updated 0, unchanged 4, rejected 0")
	if n := len(api.triggerMessages(t)); n != 2 {
		t.Fatalf("re-importing recorded %d triggers in all, want still 2", n)
	}

	// In the server's process: e3 becomes active (a run), e1 sells and
	// e2's price changes (none).
	v2 := "e1,1 Cedar,Sacramento,95820,38.5,-121.4,condo,2,1,900,295000,2024-07-01,sold,300000\n" +
		"e2,2 Cedar,Sacramento,95820,38.5,-121.4,condo,2,1,900,,,active,305000\n" +
		"e3,3 Cedar,Sacramento,95820,38.5,-121.4,condo,2,1,900,,,active,320000\n" +
		"e4,4 Cedar,Sacramento,95820,38.5,-121.4,condo,2,1,900,250000,2024-05-01,sold,\n"
	for i, want := range []importer.Summary{{Updated: 3, Unchanged: 1}, {Unchanged: 4}} {
		sum, err := importer.Import(api.ctx(), api.engine, strings.NewReader(importHeader+v2), importer.Options{})
		if err != nil || len(sum.Rejected) != 0 || sum.Imported != want.Imported || sum.Updated != want.Updated || sum.Unchanged != want.Unchanged {
			t.Fatalf("import %d of v2: %+v %v", i+1, sum, err)
		}
		api.waitTriggers(t)
		if got, want := api.listingRuns(t), map[string]int{"e1": 1, "e2": 1, "e3": 1}; !sameCounts(got, want) {
			t.Fatalf("after import %d of v2: runs %v, want %v", i+1, got, want)
		}
		if n := len(api.triggerMessages(t)); n != 3 {
			t.Fatalf("after import %d of v2: %d triggers in all, want 3", i+1, n)
		}
	}

	// createProperty agrees with the importer: a new active property
	// starts the rule's run, a new pending one does not.
	var created struct {
		Active  struct{ ID string } `json:"active"`
		Pending struct{ ID string } `json:"pending"`
	}
	api.do(`mutation {
  active: createProperty(input: {city: "Sacramento", latitude: 38.5, longitude: -121.4, status: ACTIVE}) { id }
  pending: createProperty(input: {city: "Sacramento", latitude: 38.5, longitude: -121.4, status: PENDING}) { id }
}`, nil).ok(t, &created)
	api.waitTriggers(t)
	for id, want := range map[string]int{created.Active.ID: 1, created.Pending.ID: 0} {
		if n := api.ent().Run.Query().Where(runstatus.PropertyID(mustInt(t, id))).CountX(api.ctx()); n != want {
			t.Fatalf("created property %s has %d runs, want %d", id, n, want)
		}
	}
}
