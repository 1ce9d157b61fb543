package rule

import (
	"context"

	"entgo.io/ent/entql"

	"github.com/estateflow/estateflow/ent/privacy"
	"github.com/estateflow/estateflow/tenant"
)

// orgColumn is the column TenantMixin adds to every organization-owned
// table.
const orgColumn = "organization_id"

// FilterToViewerOrg limits queries, updates and deletes of an
// organization-owned entity to the viewer's organization. The filter is a
// predicate on the SQL itself, so it also covers edge traversals and eager
// loads, and a row of another organization is simply not there.
func FilterToViewerOrg() privacy.QueryMutationRule {
	type orgFilter interface {
		WhereOrganizationID(entql.IntP)
	}
	return privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
		v, err := viewerOf(ctx)
		if err != nil {
			return err
		}
		of, ok := f.(orgFilter)
		if !ok {
			return privacy.Denyf("rule: %T has no organization to filter on", f)
		}
		of.WhereOrganizationID(entql.IntEQ(v.OrgID))
		return privacy.Skip
	})
}

// FilterToViewerOrganization limits queries of organizations to the
// viewer's own.
func FilterToViewerOrganization() privacy.QueryRule {
	type idFilter interface {
		WhereID(entql.IntP)
	}
	return privacy.FilterFunc(func(ctx context.Context, f privacy.Filter) error {
		v, err := viewerOf(ctx)
		if err != nil {
			return err
		}
		idf, ok := f.(idFilter)
		if !ok {
			return privacy.Denyf("rule: %T has no id to filter on", f)
		}
		idf.WhereID(entql.IntEQ(v.OrgID))
		return privacy.Skip
	})
}

// AllowSystem allows everything to a tenant.SystemContext: start-up and
// maintenance code that works across organizations.
func AllowSystem() privacy.QueryMutationRule {
	return privacy.ContextQueryMutationRule(func(ctx context.Context) error {
		if tenant.IsSystem(ctx) {
			return privacy.Allow
		}
		return privacy.Skip
	})
}
