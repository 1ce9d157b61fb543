package database

import (
	"context"
	"database/sql"
	"fmt"

	"entgo.io/ent/dialect"
)

// The database keeps, in each property's and each client's row, the number
// of runs that point at it (run_count; see schema.CountedBy). A page of
// properties then shows each one's run count by reading 50 stored numbers,
// where counting the runs themselves read one index entry per run and grew
// with history. Triggers keep the counts in the transaction that inserts or
// deletes a run, whatever writes it: the engine, a bulk import, or SQL by
// hand. A run's property and client never change (the fields are
// immutable), so updates need no trigger. The cost is one UPDATE per
// counted row in a run's start; on PostgreSQL, two starts of runs on the
// same property or client take turns on its row until the first commits.
//
// On the first start with the counters, the triggers are created and the
// counts filled from the runs already there, in one transaction; later
// starts find the triggers and do nothing. On PostgreSQL this runs under
// the migration's advisory lock, and creating a trigger locks the runs
// table against writes until the counts are filled, so a run inserted
// meanwhile by a replica still on the old version is counted once.

// runCounterTrigger names the insert trigger, whose presence says the
// counters are installed.
const runCounterTrigger = "runs_count_insert"

// The statements that fill the counts from the runs already there.
const (
	backfillPropertyRunCounts = `UPDATE properties SET run_count = (SELECT COUNT(*) FROM runs WHERE runs.property_id = properties.id)`
	backfillClientRunCounts   = `UPDATE clients SET run_count = (SELECT COUNT(*) FROM runs WHERE runs.client_id = clients.id)`
)

// SQLite's triggers.
const (
	sqliteTriggerExists = `SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'runs' AND name = $1`
	sqliteInsertTrigger = `CREATE TRIGGER runs_count_insert AFTER INSERT ON runs BEGIN
		UPDATE properties SET run_count = run_count + 1 WHERE id = NEW.property_id;
		UPDATE clients SET run_count = run_count + 1 WHERE id = NEW.client_id;
	END`
	sqliteDeleteTrigger = `CREATE TRIGGER runs_count_delete AFTER DELETE ON runs BEGIN
		UPDATE properties SET run_count = run_count - 1 WHERE id = OLD.property_id;
		UPDATE clients SET run_count = run_count - 1 WHERE id = OLD.client_id;
	END`
)

// PostgreSQL's triggers and their function, which lives in the schema the
// tables are in (the first of the search path), as the tables do.
const (
	postgresTriggerExists = `SELECT COUNT(*) FROM pg_trigger WHERE tgrelid = 'runs'::regclass AND tgname = $1`
	postgresCountFunction = `CREATE OR REPLACE FUNCTION estateflow_runs_count() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		IF TG_OP = 'INSERT' THEN
			UPDATE properties SET run_count = run_count + 1 WHERE id = NEW.property_id;
			UPDATE clients SET run_count = run_count + 1 WHERE id = NEW.client_id;
		ELSE
			UPDATE properties SET run_count = run_count - 1 WHERE id = OLD.property_id;
			UPDATE clients SET run_count = run_count - 1 WHERE id = OLD.client_id;
		END IF;
		RETURN NULL;
	END $$`
	postgresInsertTrigger = `CREATE TRIGGER runs_count_insert AFTER INSERT ON runs FOR EACH ROW EXECUTE FUNCTION estateflow_runs_count()`
	postgresDeleteTrigger = `CREATE TRIGGER runs_count_delete AFTER DELETE ON runs FOR EACH ROW EXECUTE FUNCTION estateflow_runs_count()`
)

// installRunCounters creates the run-count triggers and fills the counts,
// once.
func installRunCounters(ctx context.Context, db *sql.DB, dialectName string) error {
	exists, install := sqliteTriggerExists, []string{sqliteInsertTrigger, sqliteDeleteTrigger}
	if dialectName == dialect.Postgres {
		exists, install = postgresTriggerExists, []string{postgresCountFunction, postgresInsertTrigger, postgresDeleteTrigger}
	}
	install = append(install, backfillPropertyRunCounts, backfillClientRunCounts)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("run counters: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var n int
	if err := tx.QueryRowContext(ctx, exists, runCounterTrigger).Scan(&n); err != nil {
		return fmt.Errorf("run counters: looking for the trigger: %w", err)
	}
	if n > 0 {
		return nil
	}
	for _, stmt := range install {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("run counters: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("run counters: %w", err)
	}
	return nil
}
