package tenant_test

import (
	"context"
	"sync"
	"testing"

	"github.com/estateflow/estateflow/tenant"
)

func TestKnownInOrgIsPerViewerContext(t *testing.T) {
	t.Parallel()
	bg := context.Background()
	orgA := tenant.NewContext(bg, tenant.Viewer{OrgID: 1})
	tenant.RememberInOrg(orgA, 10, 11)

	child, cancel := context.WithCancel(orgA)
	defer cancel()
	tenant.RememberInOrg(child, 12)

	tests := []struct {
		name string
		ctx  context.Context
		id   int
		want bool
	}{
		{"remembered", orgA, 10, true},
		{"remembered in the same call", orgA, 11, true},
		{"never remembered", orgA, 13, false},
		{"a child context sees its parent's rows", child, 10, true},
		// One request's contexts share what they learned.
		{"the parent sees its child's rows", orgA, 12, true},
		// Proofs belong to one viewer: a new viewer, even of the same
		// organization, starts from nothing.
		{"another organization's viewer derived from it", tenant.NewContext(orgA, tenant.Viewer{OrgID: 2}), 10, false},
		{"a new viewer context of the same organization", tenant.NewContext(orgA, tenant.Viewer{OrgID: 1}), 10, false},
		{"a sibling viewer context", tenant.NewContext(bg, tenant.Viewer{OrgID: 1}), 10, false},
		{"no viewer", bg, 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tenant.KnownInOrg(tt.ctx, tt.id); got != tt.want {
				t.Fatalf("KnownInOrg(%d) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestRememberInOrgWithoutViewerRemembersNothing(t *testing.T) {
	t.Parallel()
	for name, ctx := range map[string]context.Context{
		"background": context.Background(),
		// The system context sees every organization: "in the viewer's
		// organization" means nothing there.
		"system": tenant.SystemContext(context.Background()),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			tenant.RememberInOrg(ctx, 1, 2, 3)
			if tenant.KnownInOrg(ctx, 1) {
				t.Fatal("a context without a viewer remembered a row")
			}
		})
	}
}

func TestRememberInOrgIsBounded(t *testing.T) {
	t.Parallel()
	const bound = 512
	tests := []struct {
		name     string
		remember func(ctx context.Context, ids []int)
	}{
		{"one call", func(ctx context.Context, ids []int) { tenant.RememberInOrg(ctx, ids...) }},
		{"one call per row", func(ctx context.Context, ids []int) {
			for _, id := range ids {
				tenant.RememberInOrg(ctx, id)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: 1})
			ids := make([]int, bound+100)
			for i := range ids {
				ids[i] = 1000 + i
			}
			tt.remember(ctx, ids)
			for i, id := range ids {
				if got, want := tenant.KnownInOrg(ctx, id), i < bound; got != want {
					t.Fatalf("row %d (the %dth remembered): known %v, want %v", id, i+1, got, want)
				}
			}
			// A full context still answers for what it holds when told again.
			tenant.RememberInOrg(ctx, ids[0])
			if !tenant.KnownInOrg(ctx, ids[0]) {
				t.Fatal("re-remembering a known row forgot it")
			}
			// The bound is per context: a fresh viewer context has room.
			fresh := tenant.NewContext(ctx, tenant.Viewer{OrgID: 1})
			tenant.RememberInOrg(fresh, ids[bound])
			if !tenant.KnownInOrg(fresh, ids[bound]) {
				t.Fatal("a fresh viewer context inherited the full set")
			}
		})
	}
}

func TestRememberInOrgConcurrently(t *testing.T) {
	t.Parallel()
	// One request's resolvers run in parallel and share its context.
	ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: 1})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				id := g*50 + i
				tenant.RememberInOrg(ctx, id)
				if !tenant.KnownInOrg(ctx, id) {
					t.Errorf("row %d not known right after being remembered", id)
				}
			}
		})
	}
	wg.Wait()
	for id := range 400 {
		if !tenant.KnownInOrg(ctx, id) {
			t.Fatalf("row %d forgotten", id)
		}
	}
}
