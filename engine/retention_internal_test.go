package engine

import (
	"context"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/internal/testdb"
)

// TestAdvisoryLocksArePerSchema: the engine's advisory locks (compaction,
// the orphan sweep) exclude the sessions of their own schema only. Two
// deployments in two schemas of one database, like two test packages, do
// not skip each other's compaction.
func TestAdvisoryLocksArePerSchema(t *testing.T) {
	ctx := context.Background()
	a := testdb.Open(t, database.Options{})
	if a.Dialect != dialect.Postgres {
		t.Skip("advisory locks are PostgreSQL's: set TEST_DATABASE_URL")
	}
	b := testdb.Open(t, database.Options{})
	take := func(db *database.DB) bool {
		t.Helper()
		tx, err := db.Client.Tx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tx.Rollback() })
		locked, err := tryAdvisoryXactLock(ctx, tx.Client(), compactionLock)
		if err != nil {
			t.Fatal(err)
		}
		return locked
	}
	if !take(a) {
		t.Fatal("the first session of schema A did not get the lock")
	}
	if !take(b) {
		t.Fatal("schema B's session did not get the lock that schema A holds: the lock spans schemas")
	}
	if take(a) {
		t.Fatal("a second session of schema A got the lock A's first session holds")
	}
}
