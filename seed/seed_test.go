package seed_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/modules"
	"github.com/estateflow/estateflow/seed"
	"github.com/estateflow/estateflow/tenant"
)

func TestBuiltinPackagesAreValid(t *testing.T) {
	for _, p := range seed.BuiltinPackages() {
		nodes := make([]engine.Node, len(p.Steps))
		for i, s := range p.Steps {
			if k, ok := modules.Find(s.Kind); !ok || k.Subject != p.Subject {
				t.Errorf("%s: step %s of kind %s does not fit subject %s", p.Key, s.Key, s.Kind, p.Subject)
			}
			nodes[i] = engine.Node{Key: s.Key, DependsOn: s.DependsOn}
		}
		if err := engine.ValidateGraph(nodes); err != nil {
			t.Errorf("%s: %v", p.Key, err)
		}
	}
}

func TestGenerateIsDeterministicAndBelievable(t *testing.T) {
	now := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)
	a, b := seed.Generate(now), seed.Generate(now)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two generations differ")
	}
	counts := map[property.Status]int{}
	for _, p := range a.Properties {
		counts[p.Status]++
		switch p.Status {
		case property.StatusSOLD:
			if p.SalePrice == nil || p.SaleDate == nil || p.SaleDate.After(now) || *p.SalePrice < 50000 {
				t.Fatalf("implausible sale: %+v", p)
			}
		case property.StatusACTIVE:
			if p.ListPrice == nil || p.SalePrice != nil {
				t.Fatalf("implausible listing: %+v", p)
			}
		}
		if p.Sqft <= 0 || p.Beds < 1 || p.Latitude < 30 || p.Latitude > 30.5 {
			t.Fatalf("implausible property: %+v", p)
		}
	}
	if counts[property.StatusSOLD] < 200 || counts[property.StatusACTIVE] < 20 {
		t.Fatalf("status mix %v: want mostly sold comps and some active listings", counts)
	}
	if len(a.Clients) != 50 {
		t.Fatalf("%d clients, want 50", len(a.Clients))
	}
}

func TestBootstrapRunsOnce(t *testing.T) {
	db := testdb.Open(t, database.Options{})
	ctx := context.Background()
	first, err := seed.Bootstrap(ctx, db.Client, true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created || first.Properties != 320 || first.Clients != 50 {
		t.Fatalf("first bootstrap = %+v", first)
	}
	second, err := seed.Bootstrap(ctx, db.Client, true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if second.Created || second.Org.ID != first.Org.ID {
		t.Fatalf("second bootstrap = %+v", second)
	}
	orgCtx := tenant.NewContext(ctx, tenant.Viewer{OrgID: first.Org.ID})
	if n := db.Client.Property.Query().CountX(orgCtx); n != 320 {
		t.Fatalf("%d properties after two bootstraps, want 320", n)
	}
	if n := db.Client.WorkflowPackage.Query().CountX(orgCtx); n != 3 {
		t.Fatalf("%d packages after two bootstraps, want the 3 built-in ones", n)
	}
}

// TestConcurrentBootstrapsAgree models replicas starting together on one
// empty database: every one must come up with the same organization.
func TestConcurrentBootstrapsAgree(t *testing.T) {
	db := testdb.Open(t, database.Options{})
	const replicas = 4
	results := make(chan seed.Result, replicas)
	errs := make(chan error, replicas)
	for range replicas {
		go func() {
			res, err := seed.Bootstrap(context.Background(), db.Client, false, time.Now())
			if err != nil {
				errs <- err
				return
			}
			results <- res
		}()
	}
	orgIDs := map[int]bool{}
	created := 0
	for range replicas {
		select {
		case err := <-errs:
			t.Fatalf("bootstrap: %v", err)
		case res := <-results:
			orgIDs[res.Org.ID] = true
			if res.Created {
				created++
			}
		}
	}
	if len(orgIDs) != 1 || created != 1 {
		t.Fatalf("%d organizations, %d creators; want 1 and 1", len(orgIDs), created)
	}
}
