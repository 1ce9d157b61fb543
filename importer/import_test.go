package importer_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/automationrule"
	"github.com/estateflow/estateflow/ent/outboxmessage"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/importer"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/modules/automation"
	"github.com/estateflow/estateflow/tenant"
)

// newEngine is the engine whose transactions an import writes in. It is
// never started, as in the import command: the triggers it commits are for
// a server's engine.
func newEngine(t testing.TB, db *database.DB) *engine.Engine {
	t.Helper()
	eng := engine.New(db.Client, engine.Config{Dialect: db.Dialect})
	t.Cleanup(func() {
		if err := eng.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return eng
}

func orgContext(t *testing.T, db *database.DB) context.Context {
	t.Helper()
	org, err := db.Client.Organization.Create().SetName("Import").SetSlug("import").Save(tenant.SystemContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return tenant.NewContext(context.Background(), tenant.Viewer{OrgID: org.ID})
}

const header = "id,address,city,zip,latitude,longitude,property_type,beds,baths,sqft,sale_price,sale_date,status,list_price,extra_column\n"

func TestImportReportsBadRowsAndKeepsTheRest(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, database.Options{})
	ctx := orgContext(t, db)
	csv := header +
		"a1,1 Oak St,Sacramento,95820,38.5,-121.4,single_family,3,2,1400,250000,2024-05-01,,,ignored\n" +
		"a2,2 Oak St,Sacramento,95820,,-121.4,condo,2,1,900,150000,,,,\n" + // line 3: no latitude
		"a3,3 Oak St,Sacramento,95820,38.5,-121.4,condo,2,1,900,-5,,,,\n" + // line 4: negative price
		"a4,4 Oak St,Sacramento,95820,38.5,-121.4,castle,2,1,900,150000,,,,\n" + // line 5: unknown type
		"a5,5 Oak St,Sacramento,95820,38.5,-121.4,condo,2,1,900,150000,05/01/2024,,,\n" + // line 6: bad date
		"a6,6 Oak St,Sacramento,95820,38.5,-121.4,townhouse,3,2.5,1500,,,active,420000,\n" +
		"a1,1 Oak St again,Sacramento,95820,38.5,-121.4,single_family,3,2,1400,250000,,,,\n" // line 8: repeated id
	sum, err := importer.Import(ctx, newEngine(t, db), strings.NewReader(csv), importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Imported != 2 || len(sum.Rejected) != 5 {
		t.Fatalf("summary %+v", sum)
	}
	want := map[int]string{3: "latitude is missing", 4: "sale_price is negative", 5: `unknown property_type "castle"`, 6: "sale_date", 8: "repeats line 2"}
	for _, rej := range sum.Rejected {
		if !strings.Contains(rej.Reason, want[rej.Line]) || want[rej.Line] == "" {
			t.Errorf("line %d rejected with %q, want %q", rej.Line, rej.Reason, want[rej.Line])
		}
	}
	p, err := db.Client.Property.Query().Where(property.ExternalRef("a1")).Only(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != property.StatusSOLD || *p.SalePrice != 250000 || *p.Baths != 2 || !p.SaleDate.Equal(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("a1 = %+v", p)
	}
	if n := db.Client.Property.Query().CountX(ctx); n != 2 {
		t.Fatalf("%d properties stored, want 2 (no partial rows)", n)
	}
}

func TestReimportChangesNothingAndUpdatesChangedRows(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, database.Options{})
	ctx := orgContext(t, db)
	first := header + "b1,1 Elm,Sacramento,95820,38.5,-121.4,single_family,3,2,1400,250000,2024-05-01,,,\n" +
		"b2,2 Elm,Sacramento,95820,38.6,-121.5,condo,2,1,900,,,active,180000,\n"
	if _, err := importer.Import(ctx, newEngine(t, db), strings.NewReader(first), importer.Options{}); err != nil {
		t.Fatal(err)
	}
	before, _ := db.Client.Property.Query().Where(property.ExternalRef("b1")).Only(ctx)
	again, err := importer.Import(ctx, newEngine(t, db), strings.NewReader(first), importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Imported != 0 || again.Updated != 0 || again.Unchanged != 2 {
		t.Fatalf("re-import: %+v", again)
	}
	after, _ := db.Client.Property.Query().Where(property.ExternalRef("b1")).Only(ctx)
	if !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatal("a re-import touched an unchanged row")
	}
	changed := header + "b2,2 Elm,Sacramento,95820,38.6,-121.5,condo,2,1,900,175000,2024-06-01,sold,180000,\n"
	sum, err := importer.Import(ctx, newEngine(t, db), strings.NewReader(changed), importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Updated != 1 {
		t.Fatalf("update: %+v", sum)
	}
	b2, _ := db.Client.Property.Query().Where(property.ExternalRef("b2")).Only(ctx)
	if b2.Status != property.StatusSOLD || *b2.SalePrice != 175000 {
		t.Fatalf("b2 = %+v", b2)
	}
}

// TestImportSacramento imports the shared data set, as the README's command
// does, twice.
func TestImportSacramento(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "data", "sacramento-sales.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("shared data not available (%v): skipping", err)
	}
	defer f.Close()
	db := testdb.Open(t, database.Options{})
	ctx := orgContext(t, db)
	var calls int
	sum, err := importer.Import(ctx, newEngine(t, db), f, importer.Options{Progress: func(done, total int) { calls++ }})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Imported != 932 || len(sum.Rejected) != 0 || calls == 0 {
		t.Fatalf("summary %+v after %d progress calls", sum, calls)
	}
}

// Issue 12, items 5 and 13: rows with non-finite numbers, dates outside
// 1900..2100, prices beyond GraphQL's 32-bit Int or text that is not UTF-8
// are rejected, and the rest imported.
func TestImportRejectsNonFiniteNumbersOutOfRangeDatesAndInvalidText(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, database.Options{})
	ctx := orgContext(t, db)
	csv := header +
		"c1,1 Ash,Sacramento,95820,NaN,-121.4,condo,2,1,900,150000,2024-05-01,,,\n" + // line 2
		"c2,2 Ash,Sacramento,95820,38.5,Inf,condo,2,1,900,150000,2024-05-01,,,\n" + // line 3
		"c3,3 Ash,Sacramento,95820,38.5,-121.4,condo,2,NaN,900,150000,2024-05-01,,,\n" + // line 4
		"c4,4 Ash,Sacramento,95820,38.5,-121.4,condo,2,-Inf,900,150000,2024-05-01,,,\n" + // line 5
		"c5,5 Ash,Sacramento,95820,38.5,-121.4,condo,2,1,900,150000,0000-01-01,,,\n" + // line 6
		"c6,6 Ash,Sacramento,95820,38.5,-121.4,condo,2,1,900,150000,1800-05-01,,,\n" + // line 7
		"c7,7 Ash,Sacramento,95820,38.5,-121.4,condo,2,1,900,150000,2999-05-01,,,\n" + // line 8
		"c8,8 Ash,Sacramento,95820,38.5,-121.4,condo,2,1,900,3000000000,2024-05-01,,,\n" + // line 9
		"c9,9 Ash \xff,Sacramento,95820,38.5,-121.4,condo,2,1,900,150000,2024-05-01,,,\n" + // line 10
		"c10,10 Ash,Sacramento,95820,38.5,-121.4,condo,2,1.5,900,150000,1900-01-01,,,\n" // line 11: fine
	sum, err := importer.Import(ctx, newEngine(t, db), strings.NewReader(csv), importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{2: "latitude", 3: "longitude", 4: "baths", 5: "baths", 6: "sale_date", 7: "sale_date", 8: "sale_date", 9: "sale_price", 10: "address"}
	if sum.Imported != 1 || len(sum.Rejected) != len(want) {
		t.Fatalf("summary %+v", sum)
	}
	for _, rej := range sum.Rejected {
		if want[rej.Line] == "" || !strings.Contains(rej.Reason, want[rej.Line]) {
			t.Errorf("line %d rejected with %q, want a reason about %q", rej.Line, rej.Reason, want[rej.Line])
		}
	}
}

// An import records, in its transactions, one trigger per matching rule
// for each property whose status it changed, a new property's included,
// and none for a row it leaves as it was: re-importing a file records
// nothing more.
func TestImportRecordsPropertyStatusTriggers(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, database.Options{})
	ctx := orgContext(t, db)
	eng := newEngine(t, db)
	rule := db.Client.AutomationRule.Create().SetName("Market new listings").
		SetEvent(automationrule.EventPROPERTY_STATUS_CHANGED).SetToStage("ACTIVE").SetPackageKey("new-listing").SaveX(ctx)
	triggers := func() []*ent.OutboxMessage {
		t.Helper()
		ms, err := db.Client.OutboxMessage.Query().Where(outboxmessage.Topic(automation.TriggerTopic)).
			Order(outboxmessage.ByID()).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	idOf := func(ref string) int {
		t.Helper()
		return db.Client.Property.Query().Where(property.ExternalRef(ref)).OnlyIDX(ctx)
	}
	steps := []struct {
		name string
		csv  string
		// The properties whose trigger the step adds, and the status each
		// left ("" for a new property).
		want map[string]string
	}{
		{"first import", header +
			"d1,1 Birch,Sacramento,95820,38.5,-121.4,condo,2,1,900,,,active,300000,\n" +
			"d2,2 Birch,Sacramento,95820,38.5,-121.4,condo,2,1,900,,,pending,310000,\n" +
			"d3,3 Birch,Sacramento,95820,38.5,-121.4,condo,2,1,900,250000,2024-05-01,sold,,\n",
			map[string]string{"d1": ""}},
		{"the same file again", header +
			"d1,1 Birch,Sacramento,95820,38.5,-121.4,condo,2,1,900,,,active,300000,\n" +
			"d2,2 Birch,Sacramento,95820,38.5,-121.4,condo,2,1,900,,,pending,310000,\n" +
			"d3,3 Birch,Sacramento,95820,38.5,-121.4,condo,2,1,900,250000,2024-05-01,sold,,\n",
			nil},
		{"d2 goes active, d1 sells, d3's price is corrected", header +
			"d1,1 Birch,Sacramento,95820,38.5,-121.4,condo,2,1,900,295000,2024-07-01,sold,300000,\n" +
			"d2,2 Birch,Sacramento,95820,38.5,-121.4,condo,2,1,900,,,active,310000,\n" +
			"d3,3 Birch,Sacramento,95820,38.5,-121.4,condo,2,1,900,255000,2024-05-01,sold,,\n",
			map[string]string{"d2": "PENDING"}},
		{"the changed file again", header +
			"d1,1 Birch,Sacramento,95820,38.5,-121.4,condo,2,1,900,295000,2024-07-01,sold,300000,\n" +
			"d2,2 Birch,Sacramento,95820,38.5,-121.4,condo,2,1,900,,,active,310000,\n" +
			"d3,3 Birch,Sacramento,95820,38.5,-121.4,condo,2,1,900,255000,2024-05-01,sold,,\n",
			nil},
	}
	seen := 0
	for _, step := range steps {
		sum, err := importer.Import(ctx, eng, strings.NewReader(step.csv), importer.Options{})
		if err != nil || len(sum.Rejected) != 0 {
			t.Fatalf("%s: %+v %v", step.name, sum, err)
		}
		ms := triggers()
		added := ms[seen:]
		seen = len(ms)
		if len(added) != len(step.want) {
			t.Fatalf("%s: %d triggers recorded, want %d", step.name, len(added), len(step.want))
		}
		for _, m := range added {
			p := m.Payload
			var ref string
			for r := range step.want {
				if p["recordId"] == float64(idOf(r)) {
					ref = r
				}
			}
			from, hasFrom := p["from"]
			if ref == "" || p["event"] != "PROPERTY_STATUS_CHANGED" || p["to"] != "ACTIVE" || p["propertyId"] != p["recordId"] ||
				p["ruleId"] != float64(rule.ID) || m.Status != outboxmessage.StatusPENDING ||
				(step.want[ref] == "") == hasFrom || (hasFrom && from != step.want[ref]) {
				t.Errorf("%s: trigger %+v", step.name, p)
			}
		}
	}
}
