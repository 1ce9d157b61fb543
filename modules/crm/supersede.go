package crm

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/contact"
	"github.com/estateflow/estateflow/ent/task"
)

// Re-running a sequence is safe: a new run's follow-ups (and drip emails,
// see the marketing module) supersede the open ones that earlier runs
// planned for the same client, instead of stacking a second cadence on the
// first. Superseded rows are CANCELED and name the run that replaced them
// (superseded_by_run_id); done tasks, tasks an agent created by hand and a
// transaction's checklist tasks are never touched.
//
// The supersession is planned when the step executes, so that its output
// can say what it replaced, and done again in the transaction that writes
// the step's effects, with the client's row locked: if another run changed
// the client's open follow-ups meanwhile, the attempt fails and the retry
// plans anew (ErrSequenceChanged), so the stored output is always what was
// written.

// SupersededRun is an earlier run whose pending work a step superseded.
type SupersededRun struct {
	RunID int `json:"runId"`
	Count int `json:"count"`
}

// ErrSequenceChanged fails an attempt whose supersession plan was overtaken
// by another run on the same client; the engine retries the step.
var ErrSequenceChanged = errors.New("another run changed the client's pending sequence meanwhile; the step plans again")

// LockClient serializes the runs that replace one client's sequence. On
// PostgreSQL the client's row is locked FOR UPDATE until the transaction
// ends; SQLite transactions are BEGIN IMMEDIATE and already serialized.
func LockClient(ctx context.Context, db *ent.Client, clientID int) error {
	_, err := db.Contact.Query().Where(contact.ID(clientID), func(s *entsql.Selector) {
		if s.Dialect() == dialect.Postgres {
			s.ForUpdate(entsql.WithLockTables(contact.Table))
		}
	}).Only(ctx)
	if err != nil {
		return fmt.Errorf("locking client %d: %w", clientID, err)
	}
	return nil
}

// supersedableTasks are the client's open follow-ups planned by runs other
// than runID, by ID.
func supersedableTasks(ctx context.Context, db *ent.Client, clientID, runID int) ([]*ent.Task, error) {
	tasks, err := db.Task.Query().
		Where(task.ClientID(clientID), task.StatusEQ(task.StatusOPEN), task.RunIDNotNil(), task.RunIDNEQ(runID), task.ChecklistKeyIsNil()).
		Order(task.ByID()).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the open follow-ups of client %d: %w", clientID, err)
	}
	return tasks, nil
}

// PlanTaskSupersession lists, by run, the client's open follow-ups that a
// step of runID will supersede.
func PlanTaskSupersession(ctx context.Context, db *ent.Client, clientID, runID int) ([]SupersededRun, error) {
	tasks, err := supersedableTasks(ctx, db, clientID, runID)
	if err != nil {
		return nil, err
	}
	runs := make([]int, len(tasks))
	for i, t := range tasks {
		runs[i] = *t.RunID
	}
	return CountByRun(runs), nil
}

// SupersedeTasks cancels the client's open follow-ups of other runs, marking
// them superseded by runID, in db's transaction. It locks the client first
// and fails with ErrSequenceChanged unless it finds exactly the planned ones.
func SupersedeTasks(ctx context.Context, db *ent.Client, clientID, runID int, planned []SupersededRun) error {
	if err := LockClient(ctx, db, clientID); err != nil {
		return err
	}
	tasks, err := supersedableTasks(ctx, db, clientID, runID)
	if err != nil {
		return err
	}
	ids, runs := make([]int, len(tasks)), make([]int, len(tasks))
	for i, t := range tasks {
		ids[i], runs[i] = t.ID, *t.RunID
	}
	if !slices.Equal(CountByRun(runs), planned) {
		return fmt.Errorf("client %d: %w", clientID, ErrSequenceChanged)
	}
	if len(ids) == 0 {
		return nil
	}
	n, err := db.Task.Update().Where(task.IDIn(ids...), task.StatusEQ(task.StatusOPEN)).
		SetStatus(task.StatusCANCELED).SetSupersededByRunID(runID).Save(ctx)
	if err != nil {
		return fmt.Errorf("superseding %d follow-ups of client %d: %w", len(ids), clientID, err)
	}
	if n != len(ids) {
		return fmt.Errorf("client %d: %w", clientID, ErrSequenceChanged)
	}
	return nil
}

// CountByRun counts run IDs, in ascending order of run.
func CountByRun(runIDs []int) []SupersededRun {
	out := []SupersededRun{}
	for _, id := range slices.Sorted(slices.Values(runIDs)) {
		if n := len(out); n > 0 && out[n-1].RunID == id {
			out[n-1].Count++
			continue
		}
		out = append(out, SupersededRun{RunID: id, Count: 1})
	}
	return out
}

// DescribeSupersession says, for a step's output, what it replaced.
func DescribeSupersession(what string, runs []SupersededRun) string {
	if len(runs) == 0 {
		return ""
	}
	total := 0
	parts := make([]string, len(runs))
	for i, r := range runs {
		total += r.Count
		parts[i] = fmt.Sprintf("%d from run %d", r.Count, r.RunID)
	}
	return fmt.Sprintf("superseded %d pending %s of the client's earlier sequence (%s): canceled, marked superseded by this run",
		total, what, joinAnd(parts))
}

func joinAnd(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	out := ""
	for i, p := range parts {
		switch {
		case i == 0:
			out = p
		case i == len(parts)-1:
			out += " and " + p
		default:
			out += ", " + p
		}
	}
	return out
}
