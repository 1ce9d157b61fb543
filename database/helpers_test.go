package database_test

import (
	"context"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/tenant"
)

// newOrg creates an organization and returns a context acting for it.
func newOrg(t *testing.T, client *ent.Client, slug string) (context.Context, *ent.Organization) {
	t.Helper()
	org, err := client.Organization.Create().SetName(slug).SetSlug(slug).Save(tenant.SystemContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return tenant.NewContext(context.Background(), tenant.Viewer{OrgID: org.ID, Role: tenant.RoleAdmin}), org
}

// placeholder is the first bind parameter in db's SQL.
func placeholder(db *database.DB) string {
	if db.Dialect == dialect.Postgres {
		return "$1"
	}
	return "?"
}
