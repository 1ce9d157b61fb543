package database_test

import (
	"context"
	"slices"
	"testing"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/packagestep"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/ent/workflowpackage"
	"github.com/estateflow/estateflow/internal/testdb"
)

// authored is the steps' order by position. They are inserted out of it,
// and their keys sort out of it too, so that neither the table's order nor
// the (parent, key) index's gives it.
var (
	authored = []string{"zeta", "alpha", "mid", "beta"}
	inserted = []struct {
		key      string
		position int
	}{{"mid", 2}, {"zeta", 0}, {"beta", 3}, {"alpha", 1}}
)

func stepKeys[T any](steps []T, key func(T) string) []string {
	keys := make([]string, len(steps))
	for i, s := range steps {
		keys[i] = key(s)
	}
	return keys
}

func TestPackageStepsComeBackInAuthoredOrder(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, database.Options{})
	ctx, _ := newOrg(t, db.Client, "order")
	pkg, err := db.Client.WorkflowPackage.Create().SetKey("listing").SetName("Listing").SetSubject(stepkind.SubjectProperty).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range inserted {
		if err := db.Client.PackageStep.Create().SetPackage(pkg).SetKey(s.key).SetName(s.key).
			SetKind(stepkind.CMAAnalysis).SetPosition(s.position).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	key := func(s *ent.PackageStep) string { return s.Key }
	tests := []struct {
		name  string
		query func(ctx context.Context, client *ent.Client) ([]string, error)
		want  []string
	}{
		{"through the package", func(ctx context.Context, c *ent.Client) ([]string, error) {
			steps, err := c.WorkflowPackage.Query().Where(workflowpackage.ID(pkg.ID)).QuerySteps().All(ctx)
			return stepKeys(steps, key), err
		}, authored},
		{"directly", func(ctx context.Context, c *ent.Client) ([]string, error) {
			steps, err := c.PackageStep.Query().Where(packagestep.PackageID(pkg.ID)).All(ctx)
			return stepKeys(steps, key), err
		}, authored},
		{"eager-loaded, as GraphQL lists load them", func(ctx context.Context, c *ent.Client) ([]string, error) {
			p, err := c.WorkflowPackage.Query().Where(workflowpackage.ID(pkg.ID)).WithSteps().Only(ctx)
			if err != nil {
				return nil, err
			}
			return stepKeys(p.Edges.Steps, key), nil
		}, authored},
		{"without the position column", func(ctx context.Context, c *ent.Client) ([]string, error) {
			return c.PackageStep.Query().Where(packagestep.PackageID(pkg.ID)).Select(packagestep.FieldKey).Strings(ctx)
		}, authored},
		{"an explicit order comes first", func(ctx context.Context, c *ent.Client) ([]string, error) {
			steps, err := c.PackageStep.Query().Where(packagestep.PackageID(pkg.ID)).
				Order(packagestep.ByKey(entsql.OrderDesc())).All(ctx)
			return stepKeys(steps, key), err
		}, []string{"zeta", "mid", "beta", "alpha"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.query(ctx, db.Client)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("steps %v (%v), want %v", got, err, tt.want)
			}
		})
		t.Run(tt.name+" on a transaction", func(t *testing.T) {
			tx, err := db.SQL.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			got, err := tt.query(ctx, db.ClientOnTx(tx))
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("steps %v (%v), want %v", got, err, tt.want)
			}
		})
	}
}

func TestRunStepsComeBackInAuthoredOrder(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, database.Options{})
	ctx, _ := newOrg(t, db.Client, "order")
	pkg, err := db.Client.WorkflowPackage.Create().SetKey("listing").SetName("Listing").SetSubject(stepkind.SubjectProperty).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := db.Client.Run.Create().SetPackage(pkg).SetPackageVersion(1).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range inserted {
		if err := db.Client.StepRun.Create().SetRun(r).SetKey(s.key).SetName(s.key).
			SetKind(stepkind.CMAAnalysis).SetPosition(s.position).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	key := func(s *ent.StepRun) string { return s.Key }
	tests := []struct {
		name  string
		query func(ctx context.Context) ([]string, error)
	}{
		{"through the run", func(ctx context.Context) ([]string, error) {
			steps, err := db.Client.Run.Query().Where(run.ID(r.ID)).QuerySteps().All(ctx)
			return stepKeys(steps, key), err
		}},
		{"directly", func(ctx context.Context) ([]string, error) {
			steps, err := db.Client.StepRun.Query().Where(steprun.RunID(r.ID)).All(ctx)
			return stepKeys(steps, key), err
		}},
		{"eager-loaded", func(ctx context.Context) ([]string, error) {
			got, err := db.Client.Run.Query().Where(run.ID(r.ID)).WithSteps().Only(ctx)
			if err != nil {
				return nil, err
			}
			return stepKeys(got.Edges.Steps, key), nil
		}},
		{"without the position column", func(ctx context.Context) ([]string, error) {
			return db.Client.StepRun.Query().Where(steprun.RunID(r.ID)).Select(steprun.FieldKey).Strings(ctx)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.query(ctx)
			if err != nil || !slices.Equal(got, authored) {
				t.Fatalf("steps %v (%v), want %v", got, err, authored)
			}
		})
	}
}
