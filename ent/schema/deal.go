package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Deal is a transaction in progress: a client buying or selling a
// property. GraphQL and the product call it Transaction; ent keeps that
// name for database transactions, so the schema and Go type are Deal.
type Deal struct{ ent.Schema }

// Mixin of the Deal.
func (Deal) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the Deal.
func (Deal) Fields() []ent.Field {
	return []ent.Field{
		field.Int("client_id").Immutable(),
		field.Int("property_id").Immutable(),
		field.Enum("side").Values("BUYER", "SELLER").Immutable(),
		field.Int("price").Optional().Nillable().Positive().Max(maxGraphQLInt),
		field.Enum("stage").
			Values("LEAD", "SHOWING", "OFFER", "UNDER_CONTRACT", "INSPECTION", "APPRAISAL", "CLOSING", "CLOSED", "FELL_THROUGH").
			Default("LEAD").
			Annotations(entgql.OrderField("STAGE"), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Time("offer_date").Optional().Nillable(),
		field.Time("acceptance_date").Optional().Nillable(),
		field.Time("inspection_deadline").Optional().Nillable(),
		field.Time("closing_date").Optional().Nillable().Annotations(entgql.OrderField("CLOSING_DATE")),
	}
}

// Hooks of the Deal.
func (Deal) Hooks() []ent.Hook {
	return []ent.Hook{
		validateDates("offer_date", "acceptance_date", "inspection_deadline", "closing_date"),
		validateOrder("offer_date", "closing_date", "must not be before offerDate"),
	}
}

// Edges of the Deal.
func (Deal) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("client", Contact.Type).Ref("deals").Field("client_id").Unique().Required().Immutable(),
		edge.From("property", Property.Type).Ref("deals").Field("property_id").Unique().Required().Immutable(),
		edge.To("tasks", Task.Type).
			Annotations(entgql.RelayConnection(), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}

// Indexes of the Deal.
func (Deal) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("organization_id", "stage"),
		// The nested edges Client.transactions and Property.transactions
		// (every query also has the viewer's organization_id).
		index.Fields("organization_id", "client_id"),
		index.Fields("organization_id", "property_id"),
	}
}

// Annotations of the Deal.
func (Deal) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Type("Transaction"),
		entsql.Annotation{Table: "transactions"},
		entgql.RelayConnection(),
		entgql.QueryField("transactions"),
		entgql.Mutations(entgql.MutationCreate()),
	}
}
