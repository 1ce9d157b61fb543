package graph

import (
	"context"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/automationrule"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/graph/model"
)

// lockProperty reads a property for an update in db's transaction; on
// PostgreSQL it locks the row, so that concurrent changes of its status
// each see the status they change from (SQLite's write transactions are
// serialized already).
func lockProperty(ctx context.Context, db *ent.Client, id int) (*ent.Property, error) {
	return db.Property.Query().Where(property.ID(id), func(s *entsql.Selector) {
		if s.Dialect() == dialect.Postgres {
			s.ForUpdate(entsql.WithLockTables(property.Table))
		}
	}).Only(ctx)
}

// runTrigger is Run.trigger, from what the engine stored of the start:
// nothing for startRun, the rule, event and record for a trigger.
func (r *Resolver) runTrigger(ctx context.Context, stored map[string]any) (*model.RunTrigger, error) {
	if stored == nil || stored["kind"] != string(model.RunTriggerKindRule) {
		return &model.RunTrigger{Kind: model.RunTriggerKindManual}, nil
	}
	t := &model.RunTrigger{Kind: model.RunTriggerKindRule}
	if id, ok := storedInt(stored["ruleId"]); ok {
		t.RuleID = &id
		rule, err := r.client.AutomationRule.Get(ctx, id)
		switch {
		case err == nil:
			t.Rule = rule
		case !ent.IsNotFound(err):
			return nil, err
		}
	}
	if ev, ok := stored["event"].(string); ok {
		e := automationrule.Event(ev)
		t.Event = &e
	}
	if id, ok := storedInt(stored["recordId"]); ok {
		t.RecordID = &id
		n, err := r.client.Noder(ctx, id)
		switch {
		case err == nil:
			t.Record = n
		case !ent.IsNotFound(err):
			return nil, err
		}
	}
	for key, dst := range map[string]**string{"from": &t.From, "to": &t.To} {
		if v, ok := stored[key].(string); ok {
			*dst = &v
		}
	}
	if at, ok := stored["at"].(string); ok {
		if v, err := time.Parse(time.RFC3339Nano, at); err == nil {
			t.At = &v
		}
	}
	return t, nil
}

// storedInt reads an integer from JSON the database returned.
func storedInt(v any) (int, bool) {
	f, ok := v.(float64)
	return int(f), ok
}
