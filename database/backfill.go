package database

import (
	"context"
	"fmt"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/organization"
	"github.com/estateflow/estateflow/ent/schema"
)

// backfillUnsubscribeKeys gives each organization created before
// unsubscribe links existed its own signing key. New organizations get one
// when they are created; this runs once per old row, on the first start
// after the upgrade, and finds nothing to do after that.
func backfillUnsubscribeKeys(ctx context.Context, client *ent.Client) error {
	ids, err := client.Organization.Query().Where(organization.UnsubscribeKeyIsNil()).IDs(ctx)
	if err != nil {
		return fmt.Errorf("finding organizations without an unsubscribe key: %w", err)
	}
	for _, id := range ids {
		key := schema.NewUnsubscribeKey()
		// The IsNil guard keeps a replica migrating at the same moment from
		// replacing a key that another one has just set.
		if _, err := client.Organization.Update().
			Where(organization.ID(id), organization.UnsubscribeKeyIsNil()).
			SetUnsubscribeKey(key).
			Save(ctx); err != nil {
			return fmt.Errorf("setting organization %d's unsubscribe key: %w", id, err)
		}
	}
	return nil
}
