package database_test

import (
	"context"
	"sync"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/tenant"
)

// Every start migrates, so migrating a migrated database changes nothing
// and keeps its rows.
func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t, database.Options{}) // migrated once
	_, org := newOrg(t, db.Client, "kept")
	for range 2 {
		if err := db.Migrate(ctx); err != nil {
			t.Fatalf("migrating again: %v", err)
		}
	}
	got, err := db.Client.Organization.Get(tenant.SystemContext(ctx), org.ID)
	if err != nil || got.Slug != "kept" {
		t.Fatalf("organization after migrating again: %+v, %v", got, err)
	}
	if db.Dialect == dialect.Postgres {
		// River's own tables come with the schema on PostgreSQL.
		var river bool
		if err := db.SQL.QueryRowContext(ctx, "SELECT to_regclass('river_job') IS NOT NULL").Scan(&river); err != nil || !river {
			t.Fatalf("river_job table: %v, %v", river, err)
		}
	}
}

// Replicas start together and each migrates.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.URL(t)
	const replicas = 3
	dbs := make([]*database.DB, replicas)
	for i := range dbs {
		db, err := database.Open(ctx, url, database.Options{MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i, db := range dbs {
		wg.Go(func() { errs[i] = db.Migrate(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	newOrg(t, dbs[replicas-1].Client, "after-concurrent-migrations")
}
