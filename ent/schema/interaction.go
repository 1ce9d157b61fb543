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

// Interaction is one touch point with a client; lead scoring weighs them by
// kind and recency.
type Interaction struct{ ent.Schema }

// Mixin of the Interaction.
func (Interaction) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the Interaction.
func (Interaction) Fields() []ent.Field {
	return []ent.Field{
		field.Int("client_id").Immutable(),
		// REFERRAL: the client referred someone to the agent (the note
		// names them). VALUATION_REQUEST: the client asked what their own
		// home is worth (a CMA or valuation request), a seller's first step.
		field.Enum("type").
			Values("EMAIL_OPEN", "EMAIL_REPLY", "CALL", "TEXT", "MEETING", "SHOWING", "OPEN_HOUSE_VISIT", "WEBSITE_VISIT", "LISTING_VIEW", "FORM_SUBMISSION",
				"REFERRAL", "VALUATION_REQUEST"),
		field.Time("at").Default(time.Now).
			Annotations(entgql.OrderField("AT")),
		field.Text("note").Default("").MaxLen(5000),
	}
}

// Hooks of the Interaction.
func (Interaction) Hooks() []ent.Hook {
	return []ent.Hook{validateDates("at")}
}

// Edges of the Interaction.
func (Interaction) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("client", Contact.Type).Ref("interactions").
			Field("client_id").Unique().Required().Immutable(),
	}
}

// Indexes of the Interaction.
func (Interaction) Indexes() []ent.Index {
	return []ent.Index{index.Fields("client_id", "at")}
}

// Annotations of the Interaction.
func (Interaction) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.Mutations(entgql.MutationCreate()),
	}
}
