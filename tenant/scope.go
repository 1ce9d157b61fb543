package tenant

import (
	"context"
	"errors"
	"fmt"

	"entgo.io/ent/dialect/sql"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/intercept"
	"github.com/estateflow/estateflow/ent/organization"
)

// ErrNoViewer is returned for database work attempted without a viewer or a
// system context.
var ErrNoViewer = errors.New("tenant: no viewer in context")

// orgColumn is the column the TenantMixin adds to every tenant-owned table.
const orgColumn = "organization_id"

type predicateAdder interface {
	WhereP(...func(*sql.Selector))
}

// Install scopes every query and mutation made through client to the viewer
// of its context.
func Install(client *ent.Client) {
	// A Traverser runs for every query, including the edge traversals and
	// eager loads that GraphQL resolvers make, not just top-level ones.
	client.Intercept(intercept.TraverseFunc(func(ctx context.Context, q intercept.Query) error {
		if isSystem(ctx) {
			return nil
		}
		v, ok := FromContext(ctx)
		if !ok {
			return ErrNoViewer
		}
		if q.Type() == ent.TypeOrganization {
			q.WhereP(sql.FieldEQ(organization.FieldID, v.OrgID))
			return nil
		}
		q.WhereP(sql.FieldEQ(orgColumn, v.OrgID))
		return nil
	}))
	client.Use(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			if isSystem(ctx) {
				return next.Mutate(ctx, m)
			}
			v, ok := FromContext(ctx)
			if !ok {
				return nil, ErrNoViewer
			}
			if err := scopeMutation(m, v); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
}

func scopeMutation(m ent.Mutation, v Viewer) error {
	if m.Type() == ent.TypeOrganization {
		if m.Op().Is(ent.OpCreate) {
			return errors.New("tenant: organizations are created by operators, not by requests")
		}
		m.(*ent.OrganizationMutation).Where(organization.ID(v.OrgID))
		return nil
	}
	if m.Op().Is(ent.OpCreate) {
		if set, ok := m.Field(orgColumn); ok && set != v.OrgID {
			return fmt.Errorf("tenant: %s created for organization %v by a viewer of %d", m.Type(), set, v.OrgID)
		}
		return m.SetField(orgColumn, v.OrgID)
	}
	pa, ok := m.(predicateAdder)
	if !ok {
		return fmt.Errorf("tenant: cannot scope mutation %T", m)
	}
	pa.WhereP(sql.FieldEQ(orgColumn, v.OrgID))
	return nil
}
