package tenant

import "context"

// Role is what a user may do within an organization.
type Role string

// The roles a user can hold.
const (
	RoleAdmin Role = "ADMIN"
	RoleAgent Role = "AGENT"
)

// Viewer is who a piece of work acts for.
type Viewer struct {
	OrgID   int
	UserID  int // 0 when the work is not done for a particular user
	TokenID int // the API token a request authenticated with, if any
	Role    Role
}

type viewerKey struct{}

type systemKey struct{}

// NewContext returns a context that acts for v, and only for v: it drops a
// SystemContext it derives from.
func NewContext(ctx context.Context, v Viewer) context.Context {
	if IsSystem(ctx) {
		ctx = context.WithValue(ctx, systemKey{}, false)
	}
	ctx = context.WithValue(ctx, knownKey{}, &knownRows{ids: map[int]struct{}{}})
	return context.WithValue(ctx, viewerKey{}, v)
}

// FromContext returns the viewer ctx acts for.
func FromContext(ctx context.Context) (Viewer, bool) {
	v, ok := ctx.Value(viewerKey{}).(Viewer)
	return v, ok
}

// SystemContext returns a context that may read and write every
// organization's rows. Only start-up and maintenance code uses it; request
// handlers never do.
func SystemContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, systemKey{}, true)
}

// IsSystem reports whether ctx is a SystemContext. The privacy policies
// allow such a context before any other rule.
func IsSystem(ctx context.Context) bool {
	sys, _ := ctx.Value(systemKey{}).(bool)
	return sys
}
