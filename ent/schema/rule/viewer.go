package rule

import (
	"context"
	"fmt"

	"github.com/estateflow/estateflow/ent/privacy"
	"github.com/estateflow/estateflow/tenant"
)

// viewerOf returns the viewer of ctx, or a denial wrapping
// tenant.ErrNoViewer.
func viewerOf(ctx context.Context) (tenant.Viewer, error) {
	v, ok := tenant.FromContext(ctx)
	if !ok || v.OrgID == 0 {
		return v, fmt.Errorf("%w: %w", privacy.Deny, tenant.ErrNoViewer)
	}
	return v, nil
}
