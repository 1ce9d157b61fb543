package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"

	"github.com/estateflow/estateflow/ent/privacy"
	"github.com/estateflow/estateflow/ent/schema/rule"
)

// TimestampsMixin records when a row was created and last changed.
type TimestampsMixin struct{ mixin.Schema }

// Fields of the TimestampsMixin.
func (TimestampsMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").
			Default(time.Now).
			Immutable().
			Annotations(
				entgql.OrderField("CREATED_AT"),
				entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
			),
		field.Time("updated_at").
			Default(time.Now).
			UpdateDefault(time.Now).
			Annotations(
				entgql.OrderField("UPDATED_AT"),
				entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
			),
	}
}

// TenantMixin makes a row belong to one organization. The organization is
// set by the server from the viewer, never taken from client input, so it is
// hidden from the generated mutation inputs and where-filters.
type TenantMixin struct{ mixin.Schema }

// Fields of the TenantMixin.
func (TenantMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Int("organization_id").
			Immutable().
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges of the TenantMixin.
func (TenantMixin) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("organization", Organization.Type).
			Field("organization_id").
			Unique().
			Required().
			Immutable().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput, entgql.SkipWhereInput)),
	}
}

// Policy of the TenantMixin: every read, update and delete is filtered to
// the viewer's organization, and every write may only point at rows of it.
func (TenantMixin) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			rule.AllowSystem(),
			rule.FilterToViewerOrg(),
		},
		Mutation: privacy.MutationPolicy{
			rule.AllowSystem(),
			rule.CreateInViewerOrg(),
			rule.ReferencesInViewerOrg(),
			rule.FilterToViewerOrg(),
		},
	}
}

// Hooks of the TenantMixin.
func (TenantMixin) Hooks() []ent.Hook {
	return []ent.Hook{rule.StampViewerOrg()}
}
