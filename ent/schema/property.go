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

// Property is a home: a listing, a sold comparable, or both over time.
type Property struct{ ent.Schema }

// Mixin of the Property.
func (Property) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the Property.
func (Property) Fields() []ent.Field {
	return []ent.Field{
		field.String("external_ref").Optional().Nillable().NotEmpty().MaxLen(100).
			Comment("The identifier in the system the property was imported from (MLS number, CSV id)."),
		field.String("address").Default("").MaxLen(300).
			Annotations(entgql.OrderField("ADDRESS")),
		field.String("city").NotEmpty().MaxLen(100).Validate(validateNotBlank).
			Annotations(entgql.OrderField("CITY")),
		field.String("state").Default("").MaxLen(50),
		field.String("zip").Default("").MaxLen(10),
		field.Float("latitude").Range(-90, 90).Validate(validateFinite),
		field.Float("longitude").Range(-180, 180).Validate(validateFinite),
		field.Enum("property_type").
			Values("SINGLE_FAMILY", "CONDO", "TOWNHOUSE", "MULTI_FAMILY", "LAND").
			Default("SINGLE_FAMILY"),
		field.Int("beds").Optional().Nillable().Min(0).Max(100).
			Annotations(entgql.OrderField("BEDS")),
		field.Float("baths").Optional().Nillable().Min(0).Max(100).Validate(validateFinite).
			Comment("Bathrooms; a half bath counts 0.5."),
		field.Int("sqft").Optional().Nillable().Positive().Max(maxGraphQLInt).
			Annotations(entgql.OrderField("SQFT")),
		field.Int("lot_sqft").Optional().Nillable().Positive().Max(maxGraphQLInt),
		field.Int("year_built").Optional().Nillable().Range(1600, 2200),
		field.Int("garage_spaces").Optional().Nillable().Min(0).Max(50),
		field.Strings("features").Optional().Validate(validateStringList(100)),
		field.Text("description").Default("").MaxLen(20000),
		field.Enum("status").
			Values("ACTIVE", "PENDING", "SOLD", "OFF_MARKET").
			Default("ACTIVE").
			Annotations(entgql.OrderField("STATUS")),
		field.Int("list_price").Optional().Nillable().Positive().Max(maxGraphQLInt).
			Annotations(entgql.OrderField("LIST_PRICE")),
		field.Time("list_date").Optional().Nillable().
			Annotations(entgql.OrderField("LIST_DATE")),
		field.Int("sale_price").Optional().Nillable().Positive().Max(maxGraphQLInt).
			Annotations(entgql.OrderField("SALE_PRICE")),
		field.Time("sale_date").Optional().Nillable().
			Annotations(entgql.OrderField("SALE_DATE")),
		runCountField(),
	}
}

// Hooks of the Property.
func (Property) Hooks() []ent.Hook {
	return []ent.Hook{validateDates("list_date", "sale_date")}
}

// Edges of the Property.
func (Property) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("scheduled_posts", ScheduledPost.Type).
			Annotations(
				entgql.RelayConnection(),
				entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
				entsql.OnDelete(entsql.Cascade),
			),
		edge.From("tasks", Task.Type).Ref("property").
			Annotations(entgql.RelayConnection(), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		edge.To("deals", Deal.Type).
			Annotations(
				entgql.RelayConnection(),
				entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
				entsql.OnDelete(entsql.Restrict),
			),
		edge.From("runs", Run.Type).Ref("property").
			Annotations(
				entgql.RelayConnection(),
				entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
				CountedBy{Field: "run_count"},
			),
	}
}

// Indexes of the Property.
func (Property) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("organization_id", "external_ref").Unique(),
		// Bounding-box and comparable-sales searches filter on a latitude
		// range first; longitude then narrows within the index.
		index.Fields("organization_id", "latitude", "longitude"),
		index.Fields("organization_id", "status"),
	}
}

// Annotations of the Property.
func (Property) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
	}
}
