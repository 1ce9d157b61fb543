package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// EmailMessage is one email of a drip sequence, scheduled for sending.
type EmailMessage struct{ ent.Schema }

// Mixin of the EmailMessage.
func (EmailMessage) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the EmailMessage.
func (EmailMessage) Fields() []ent.Field {
	return []ent.Field{
		field.String("to").NotEmpty().MaxLen(320),
		field.String("subject").NotEmpty().MaxLen(300),
		field.Text("body"),
		field.Time("scheduled_at").Annotations(entgql.OrderField("SCHEDULED_AT")),
		field.Enum("status").Values("SCHEDULED", "SENT", "CANCELED").Default("SCHEDULED").
			Annotations(entgql.OrderField("STATUS")),
		field.Int("client_id").Immutable(),
		// The run, step and place in the sequence: a re-executed step finds
		// its messages instead of scheduling them twice.
		field.Int("run_id").Optional().Nillable().Immutable(),
		field.String("step_key").Optional().Nillable().Immutable(),
		field.Int("plan_index").Optional().Nillable().Immutable(),
	}
}

// Edges of the EmailMessage.
func (EmailMessage) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("client", Contact.Type).Ref("email_messages").Field("client_id").Unique().Required().Immutable(),
	}
}

// Indexes of the EmailMessage.
func (EmailMessage) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("run_id", "step_key", "plan_index").Unique(),
		index.Fields("organization_id", "status", "scheduled_at"),
	}
}

// Annotations of the EmailMessage.
func (EmailMessage) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField("emailMessages")}
}
