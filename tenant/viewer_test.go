package tenant_test

import (
	"context"
	"testing"

	"github.com/estateflow/estateflow/tenant"
)

type otherKey struct{}

func TestFromContext(t *testing.T) {
	t.Parallel()
	admin := tenant.Viewer{OrgID: 7, UserID: 3, TokenID: 11, Role: tenant.RoleAdmin}
	agent := tenant.Viewer{OrgID: 8, UserID: 4, Role: tenant.RoleAgent}
	tests := []struct {
		name   string
		ctx    context.Context
		want   tenant.Viewer
		wantOK bool
	}{
		{"no viewer", context.Background(), tenant.Viewer{}, false},
		{"system context has no viewer", tenant.SystemContext(context.Background()), tenant.Viewer{}, false},
		{"viewer", tenant.NewContext(context.Background(), admin), admin, true},
		{"a zero viewer is still a viewer", tenant.NewContext(context.Background(), tenant.Viewer{}), tenant.Viewer{}, true},
		{"the innermost viewer wins", tenant.NewContext(tenant.NewContext(context.Background(), admin), agent), agent, true},
		{"derived contexts keep the viewer", context.WithValue(tenant.NewContext(context.Background(), agent), otherKey{}, 1), agent, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tenant.FromContext(tt.ctx)
			if ok != tt.wantOK || got != tt.want {
				t.Fatalf("FromContext = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestSystemContext(t *testing.T) {
	t.Parallel()
	bg := context.Background()
	viewer := tenant.Viewer{OrgID: 1, Role: tenant.RoleAgent}
	tests := []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"background", bg, false},
		{"system", tenant.SystemContext(bg), true},
		{"derived from system", context.WithValue(tenant.SystemContext(bg), otherKey{}, 1), true},
		{"cancelable child of system", func() context.Context {
			ctx, cancel := context.WithCancel(tenant.SystemContext(bg))
			t.Cleanup(cancel)
			return ctx
		}(), true},
		// A viewer context acts for its viewer only, even when it is
		// derived from start-up code's system context.
		{"viewer derived from system", tenant.NewContext(tenant.SystemContext(bg), viewer), false},
		{"child of a viewer derived from system", context.WithValue(tenant.NewContext(tenant.SystemContext(bg), viewer), otherKey{}, 1), false},
		{"viewer", tenant.NewContext(bg, viewer), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tenant.IsSystem(tt.ctx); got != tt.want {
				t.Fatalf("IsSystem = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	// The roles are stored and served as these strings (the GraphQL Role
	// enum and the users table).
	for role, want := range map[tenant.Role]string{tenant.RoleAdmin: "ADMIN", tenant.RoleAgent: "AGENT"} {
		if string(role) != want {
			t.Errorf("role %q, want %q", role, want)
		}
	}
}
