package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	entsql "entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Contact is a CRM contact: a lead, a buyer or seller, or a past client.
// GraphQL and the product call it Client; ent reserves that name for its own
// client type, so the schema and the Go type are named Contact.
type Contact struct{ ent.Schema }

// Mixin of the Contact.
func (Contact) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the Contact.
func (Contact) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).Validate(validateNotBlank).
			Annotations(entgql.OrderField("NAME")),
		field.String("email").Optional().Nillable().MaxLen(320).Validate(validateEmail),
		field.String("phone").Optional().Nillable().MaxLen(40),
		field.Enum("stage").
			Values("LEAD", "PROSPECT", "ACTIVE", "PAST_CLIENT").
			Default("LEAD").
			Annotations(entgql.OrderField("STAGE")),
		field.Enum("source").
			Values("REFERRAL", "WEBSITE", "OPEN_HOUSE", "SOCIAL", "ZILLOW", "OTHER").
			Default("OTHER"),
		field.Int("budget_min").Optional().Nillable().Min(0).Max(maxGraphQLInt),
		field.Int("budget_max").Optional().Nillable().Min(0).Max(maxGraphQLInt),
		field.Bool("pre_approved").Default(false),
		field.Int("desired_beds").Optional().Nillable().Min(0).Max(100),
		field.Strings("preferred_areas").Optional().Validate(validateStringList(50)).
			Comment("ZIP codes or city names the client wants to live in."),
		field.Int("move_timeline").Optional().Nillable().Min(0).Max(120).
			Comment("Months until the client wants to move."),
		field.Time("last_contacted_at").Optional().Nillable().
			Annotations(entgql.OrderField("LAST_CONTACTED_AT")),
		field.Bool("email_opt_in").Default(false),
		field.Bool("sms_opt_in").Default(false),
		field.Text("notes").Default("").MaxLen(20000),
		// The latest lead score; its history is in LeadScoreRecord.
		field.Int("lead_score").Optional().Nillable().Range(0, 100).
			Annotations(entgql.OrderField("LEAD_SCORE"), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Enum("lead_tier").Values("HOT", "WARM", "COLD").Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Time("scored_at").Optional().Nillable().
			Annotations(entgql.OrderField("SCORED_AT"), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		runCountField(),
	}
}

// Hooks of the Contact.
func (Contact) Hooks() []ent.Hook {
	return []ent.Hook{
		validateDates("last_contacted_at"),
		validateOrder("budget_min", "budget_max", "must not be less than budgetMin"),
	}
}

// Edges of the Contact.
func (Contact) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("interactions", Interaction.Type).
			Annotations(
				entgql.RelayConnection(),
				entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
				entsql.OnDelete(entsql.Cascade),
			),
		edge.To("score_history", LeadScoreRecord.Type).
			Annotations(
				entgql.RelayConnection(),
				entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
				entsql.OnDelete(entsql.Cascade),
			),
		edge.To("tasks", Task.Type).
			Annotations(
				entgql.RelayConnection(),
				entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
				entsql.OnDelete(entsql.Cascade),
			),
		edge.To("email_messages", EmailMessage.Type).
			Annotations(
				entgql.RelayConnection(),
				entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
				entsql.OnDelete(entsql.Cascade),
			),
		edge.To("deals", Deal.Type).
			Annotations(
				entgql.RelayConnection(),
				entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
				entsql.OnDelete(entsql.Restrict),
			),
		edge.From("runs", Run.Type).Ref("client").
			Annotations(
				entgql.RelayConnection(),
				entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
				CountedBy{Field: "run_count"},
			),
	}
}

// Indexes of the Contact.
func (Contact) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("organization_id", "stage"),
	}
}

// Annotations of the Contact.
func (Contact) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Type("Client"),
		entsql.Annotation{Table: "clients"},
		entgql.RelayConnection(),
		entgql.QueryField("clients"),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
	}
}
