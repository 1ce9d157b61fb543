package database_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/tenant"
)

// TestMigrateGivesOldOrganizationsAnUnsubscribeKey: an organization from
// before unsubscribe links (no key) gets one on the next migration, and a
// key already set is kept.
func TestMigrateGivesOldOrganizationsAnUnsubscribeKey(t *testing.T) {
	t.Parallel()
	ctx := tenant.SystemContext(context.Background())
	db := testdb.Open(t, database.Options{})
	old, err := db.Client.Organization.Create().SetName("Old").SetSlug("old").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Client.Organization.UpdateOne(old).ClearUnsubscribeKey().Exec(ctx); err != nil {
		t.Fatal(err)
	}
	kept, err := db.Client.Organization.Create().SetName("New").SetSlug("new").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := db.Client.Organization.Get(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.UnsubscribeKey) != 32 {
		t.Fatalf("old organization's key after migration: %d bytes", len(got.UnsubscribeKey))
	}
	again, err := db.Client.Organization.Get(ctx, kept.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.UnsubscribeKey, kept.UnsubscribeKey) {
		t.Fatal("migration replaced an existing key")
	}
}
