package database_test

import (
	"context"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/internal/testdb"
)

// runCountsFixture is an organization with two properties, a client and a
// package to start runs of.
type runCountsFixture struct {
	db       *database.DB
	ctx      context.Context
	pkg      *ent.WorkflowPackage
	homes    [2]*ent.Property
	customer *ent.Contact
}

func newRunCountsFixture(t *testing.T, slug string) *runCountsFixture {
	t.Helper()
	f := &runCountsFixture{db: testdb.Open(t, database.Options{})}
	f.ctx, _ = newOrg(t, f.db.Client, slug)
	var err error
	if f.pkg, err = f.db.Client.WorkflowPackage.Create().SetKey("p").SetName("P").SetSubject(stepkind.SubjectProperty).Save(f.ctx); err != nil {
		t.Fatal(err)
	}
	for i := range f.homes {
		if f.homes[i], err = f.db.Client.Property.Create().SetCity("Austin").SetLatitude(30.2).SetLongitude(-97.7).Save(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if f.customer, err = f.db.Client.Contact.Create().SetName("Ana").Save(f.ctx); err != nil {
		t.Fatal(err)
	}
	return f
}

// startRuns inserts runs in one statement, each of the home (if not nil)
// and the client (if set).
func (f *runCountsFixture) startRuns(t *testing.T, n int, home *ent.Property, withClient bool) []*ent.Run {
	t.Helper()
	creates := make([]*ent.RunCreate, n)
	for i := range creates {
		creates[i] = f.db.Client.Run.Create().SetPackage(f.pkg).SetPackageVersion(1)
		if home != nil {
			creates[i].SetPropertyID(home.ID)
		}
		if withClient {
			creates[i].SetClientID(f.customer.ID)
		}
	}
	runs, err := f.db.Client.Run.CreateBulk(creates...).Save(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// counts reads the stored counts of the two homes and the client.
func (f *runCountsFixture) counts(t *testing.T) [3]int {
	t.Helper()
	var got [3]int
	for i, h := range f.homes {
		p, err := f.db.Client.Property.Get(f.ctx, h.ID)
		if err != nil {
			t.Fatal(err)
		}
		got[i] = p.RunCount
	}
	c, err := f.db.Client.Contact.Get(f.ctx, f.customer.ID)
	if err != nil {
		t.Fatal(err)
	}
	got[2] = c.RunCount
	return got
}

// The stored counts follow every insert and delete of a run, in the
// writing transaction, and a rolled-back run counts for nothing.
func TestRunCountsFollowRuns(t *testing.T) {
	t.Parallel()
	f := newRunCountsFixture(t, "counts")
	if got := f.counts(t); got != [3]int{} {
		t.Fatalf("counts of new rows %v, want zeros", got)
	}
	f.startRuns(t, 3, f.homes[0], false)
	both := f.startRuns(t, 2, f.homes[1], true)
	f.startRuns(t, 1, nil, true)
	f.startRuns(t, 1, nil, false)
	if got, want := f.counts(t), [3]int{3, 2, 3}; got != want {
		t.Fatalf("counts after the inserts %v, want %v", got, want)
	}

	tx, err := f.db.Client.Tx(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Run.Create().SetPackage(f.pkg).SetPackageVersion(1).SetPropertyID(f.homes[0].ID).SetClientID(f.customer.ID).Save(f.ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got, want := f.counts(t), [3]int{3, 2, 3}; got != want {
		t.Fatalf("counts after a rolled-back insert %v, want %v", got, want)
	}

	if err := f.db.Client.Run.DeleteOneID(both[0].ID).Exec(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := f.counts(t), [3]int{3, 1, 2}; got != want {
		t.Fatalf("counts after a delete %v, want %v", got, want)
	}
}

// A database from before the counters gets them on its next start, filled
// from the runs already there, and only once.
func TestRunCountsFilledOnUpgrade(t *testing.T) {
	t.Parallel()
	f := newRunCountsFixture(t, "upgrade")
	// The database as the last version left it: no triggers, and the new
	// columns at their default.
	drop := []string{`DROP TRIGGER runs_count_insert`, `DROP TRIGGER runs_count_delete`}
	if f.db.Dialect == dialect.Postgres {
		drop = []string{`DROP TRIGGER runs_count_insert ON runs`, `DROP TRIGGER runs_count_delete ON runs`}
	}
	for _, stmt := range drop {
		if _, err := f.db.SQL.ExecContext(context.Background(), stmt); err != nil {
			t.Fatal(err)
		}
	}
	f.startRuns(t, 4, f.homes[0], true)
	f.startRuns(t, 1, f.homes[1], false)
	if got := f.counts(t); got != [3]int{} {
		t.Fatalf("counts without the triggers %v, want zeros", got)
	}
	for range 2 {
		if err := f.db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, want := f.counts(t), [3]int{4, 1, 4}; got != want {
			t.Fatalf("counts after migrating %v, want %v", got, want)
		}
	}
	f.startRuns(t, 1, f.homes[1], true)
	if got, want := f.counts(t), [3]int{4, 2, 5}; got != want {
		t.Fatalf("counts after a run started after migrating %v, want %v", got, want)
	}
}
