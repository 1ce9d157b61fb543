package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// RunEvent is one entry of a run's append-only history. seq counts 1, 2, 3 …
// per run with no gaps, so a subscriber can resume from the last seq it saw.
// Once a run has finished longer ago than its organization's event
// retention, its STEP_PROGRESS events may be compacted: each unbroken range
// of them becomes one EVENTS_COMPACTED marker at the range's first seq whose
// compacted_through is the range's last, so the history still accounts for
// every seq and a client can tell compaction from a gap.
type RunEvent struct{ ent.Schema }

// Mixin of the RunEvent.
func (RunEvent) Mixin() []ent.Mixin { return []ent.Mixin{TenantMixin{}} }

// Fields of the RunEvent.
func (RunEvent) Fields() []ent.Field {
	return []ent.Field{
		field.Int("run_id").Immutable(),
		field.Int("seq").Immutable().Positive().
			Annotations(entgql.OrderField("SEQ")),
		field.Enum("type").
			Values(
				"RUN_QUEUED", "RUN_STARTED", "RUN_SUCCEEDED", "RUN_FAILED", "RUN_CANCELING", "RUN_CANCELED", "RUN_RETRIED",
				"STEP_STARTED", "STEP_PROGRESS", "STEP_RETRYING", "STEP_SUCCEEDED", "STEP_FAILED", "STEP_SKIPPED", "STEP_CANCELED",
				"STEP_AWAITING",
				"EVENTS_COMPACTED",
			).Immutable(),
		field.String("step_key").Optional().Nillable().Immutable(),
		field.String("status").Immutable().
			Comment("The run's or the step's status after this event."),
		field.Float("progress").Default(0).Immutable(),
		field.Text("message").Default("").Immutable(),
		field.Time("at").Default(time.Now).Immutable(),
		field.Int("compacted_through").Optional().Nillable().Immutable().Positive().
			Comment("On an EVENTS_COMPACTED marker only: the last seq it stands for. The marker takes the first compacted seq, so seq..compacted_through were progress events that the organization's retention removed."),
	}
}

// Edges of the RunEvent.
func (RunEvent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("run", Run.Type).Ref("events").
			Field("run_id").Unique().Required().Immutable(),
	}
}

// Indexes of the RunEvent.
func (RunEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("run_id", "seq").Unique(),
	}
}

// Annotations of the RunEvent.
func (RunEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
