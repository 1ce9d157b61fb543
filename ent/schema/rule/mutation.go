package rule

import (
	"context"
	"errors"
	"fmt"

	"entgo.io/ent"

	"github.com/estateflow/estateflow/ent/hook"
	"github.com/estateflow/estateflow/ent/privacy"
	"github.com/estateflow/estateflow/tenant"
)

// CreateInViewerOrg refuses to create a row for an organization other than
// the viewer's. Rows normally carry no organization yet at this point:
// StampViewerOrg sets it after the policy has run.
func CreateInViewerOrg() privacy.MutationRule {
	return privacy.OnMutationOperation(privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		v, err := viewerOf(ctx)
		if err != nil {
			return err
		}
		if set, ok := m.Field(orgColumn); ok && set != v.OrgID {
			return privacy.Denyf("rule: %s created for organization %v by a viewer of organization %d", m.Type(), set, v.OrgID)
		}
		return privacy.Skip
	}), ent.OpCreate)
}

// StampViewerOrg sets the organization of a new row to the viewer's, so
// that callers never pass it (and clients cannot).
func StampViewerOrg() ent.Hook {
	return hook.On(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			if _, set := m.Field(orgColumn); !set {
				if v, ok := tenant.FromContext(ctx); ok && v.OrgID != 0 {
					if err := m.SetField(orgColumn, v.OrgID); err != nil {
						return nil, fmt.Errorf("rule: stamping organization on %s: %w", m.Type(), err)
					}
				}
			}
			return next.Mutate(ctx, m)
		})
	}, ent.OpCreate)
}

// AdminOnly lets only an organization's ADMIN change the entity: users and
// tokens.
func AdminOnly() privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		v, err := viewerOf(ctx)
		if err != nil {
			return err
		}
		if v.Role != tenant.RoleAdmin {
			return fmt.Errorf("%w: %w", privacy.Deny, tenant.ErrAdminOnly)
		}
		return privacy.Skip
	})
}

// errOperatorsOnly refuses organization changes from requests.
var errOperatorsOnly = errors.New("organizations are managed by operators, not by requests")

// OperatorsOnly refuses every change outside tenant.SystemContext, which
// decides before any rule runs.
func OperatorsOnly() privacy.MutationRule {
	return privacy.MutationRuleFunc(func(context.Context, ent.Mutation) error {
		return fmt.Errorf("%w: %w", privacy.Deny, errOperatorsOnly)
	})
}

// AdminMayUpdateOwnOrganization lets an ADMIN change their own
// organization's profile, one row at a time. Any other organization, a bulk
// update, a create or a delete falls through to the rules after it.
func AdminMayUpdateOwnOrganization() privacy.MutationRule {
	type identified interface{ ID() (int, bool) }
	return privacy.OnMutationOperation(privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		v, err := viewerOf(ctx)
		if err != nil {
			return err
		}
		im, ok := m.(identified)
		if !ok {
			return privacy.Skip
		}
		id, ok := im.ID()
		if !ok || id != v.OrgID {
			return privacy.Skip
		}
		if v.Role != tenant.RoleAdmin {
			return fmt.Errorf("%w: %w", privacy.Deny, tenant.ErrAdminOnly)
		}
		return privacy.Allow
	}), ent.OpUpdateOne)
}
