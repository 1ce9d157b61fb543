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

// LeadScoreRecord is one lead score a client was given: the history behind
// the client's current score.
type LeadScoreRecord struct{ ent.Schema }

// Mixin of the LeadScoreRecord.
func (LeadScoreRecord) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the LeadScoreRecord.
func (LeadScoreRecord) Fields() []ent.Field {
	return []ent.Field{
		field.Int("client_id").Immutable(),
		field.Int("score").Immutable().Range(0, 100),
		field.Enum("tier").Values("HOT", "WARM", "COLD").Immutable(),
		field.JSON("factors", []map[string]any{}).Immutable().
			Annotations(entgql.Skip()),
		field.Time("scored_at").Default(time.Now).Immutable().
			Annotations(entgql.OrderField("SCORED_AT")),
		// The run and step that scored: a re-executed step finds its record
		// instead of adding a second one.
		field.Int("run_id").Optional().Nillable().Immutable(),
		field.String("step_key").Optional().Nillable().Immutable(),
	}
}

// Edges of the LeadScoreRecord.
func (LeadScoreRecord) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("client", Contact.Type).Ref("score_history").
			Field("client_id").Unique().Required().Immutable(),
	}
}

// Indexes of the LeadScoreRecord.
func (LeadScoreRecord) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("run_id", "step_key").Unique(),
		index.Fields("client_id", "scored_at"),
	}
}

// Annotations of the LeadScoreRecord.
func (LeadScoreRecord) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
