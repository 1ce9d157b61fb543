package app

import (
	"context"
	"fmt"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/organization"
	"github.com/estateflow/estateflow/tenant"
)

// retentionPolicies reads, for the engine's compaction, the organizations
// that set an event retention (eventRetentionDays); the others keep every
// event.
func retentionPolicies(client *ent.Client) engine.RetentionSource {
	return func(ctx context.Context) ([]engine.Retention, error) {
		orgs, err := client.Organization.Query().
			Where(organization.EventRetentionDaysNotNil()).
			Select(organization.FieldID, organization.FieldEventRetentionDays).
			All(tenant.SystemContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("app: reading event retention: %w", err)
		}
		policies := make([]engine.Retention, 0, len(orgs))
		for _, o := range orgs {
			policies = append(policies, engine.Retention{OrgID: o.ID, Age: time.Duration(*o.EventRetentionDays) * 24 * time.Hour})
		}
		return policies, nil
	}
}
