package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

// StepRun is the state of one step within a run. It carries a snapshot of the
// step's definition so that the run never depends on the package's later
// versions.
type StepRun struct{ ent.Schema }

// Mixin of the StepRun.
func (StepRun) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the StepRun.
func (StepRun) Fields() []ent.Field {
	return []ent.Field{
		field.Int("run_id").Immutable(),
		field.String("key").Immutable(),
		field.String("name").Immutable(),
		field.Enum("kind").GoType(stepkind.Kind("")).Immutable().Annotations(entgql.Type("StepKind")),
		field.Strings("depends_on").Immutable().Default([]string{}),
		field.JSON("config", map[string]any{}).Optional().Immutable().
			Annotations(entgql.Type("Map")),
		field.Int("max_attempts").Optional().Nillable().Immutable(),
		field.Int("timeout_seconds").Optional().Nillable().Immutable(),
		field.Int("position").Immutable(),
		field.Enum("status").
			Values("PENDING", "RUNNING", "RETRYING", "AWAITING_APPROVAL", "SUCCEEDED", "FAILED", "SKIPPED", "CANCELED").
			Comment("AWAITING_APPROVAL: the step waits for a decision from outside the engine (a person's approval); no worker or job holds it.").
			Default("PENDING"),
		field.Float("progress").Default(0).Range(0, 1),
		field.Int("attempt").Default(0).Min(0),
		field.Int("attempt_base").Default(0).Min(0).
			Comment("attempt when the run was last retried: the attempt budget counts from here, while the counter itself continues.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Text("message").Default(""),
		field.JSON("output", map[string]any{}).Optional().
			Annotations(entgql.Type("Map"), entgql.MapsTo("outputJSON")),
		field.Text("error").Optional().Nillable(),
		field.Time("next_attempt_at").Optional().Nillable().
			Comment("When a RETRYING step's next attempt is due."),
		field.JSON("wait", map[string]any{}).Optional().
			Comment("What an AWAITING_APPROVAL step waits on (detail) and the decision its deadline applies (onDeadline); kept after the decision as the record of what was asked.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("deadline_at").Optional().Nillable().
			Comment("When an AWAITING_APPROVAL step's deadline passes and its deadline action applies."),
		field.Time("started_at").Optional().Nillable(),
		field.Time("finished_at").Optional().Nillable(),
	}
}

// Edges of the StepRun.
func (StepRun) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("run", Run.Type).Ref("steps").
			Field("run_id").Unique().Required().Immutable(),
	}
}

// Indexes of the StepRun.
func (StepRun) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("run_id", "key").Unique(),
		// The engine's sweeps look for retries whose wake-up was lost and
		// for deadlines that passed, by status and time: without these they
		// would read every step ever run.
		index.Fields("status", "next_attempt_at"),
		index.Fields("status", "deadline_at"),
	}
}

// Annotations of the StepRun.
func (StepRun) Annotations() []schema.Annotation { return nil }
