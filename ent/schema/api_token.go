package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"github.com/estateflow/estateflow/ent/privacy"
	"github.com/estateflow/estateflow/ent/schema/rule"
)

// APIToken lets a user call the API. Only a hash of the secret is stored;
// the prefix identifies it in lists.
type APIToken struct{ ent.Schema }

// Mixin of the APIToken.
func (APIToken) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the APIToken.
func (APIToken) Fields() []ent.Field {
	return []ent.Field{
		field.Int("user_id").Immutable(),
		field.String("name").NotEmpty().MaxLen(100).Validate(validateNotBlank),
		field.String("prefix").Immutable().Comment("The secret's first characters, for display."),
		field.String("hash").Immutable().Unique().Sensitive().
			Annotations(entgql.Skip()),
		field.Time("last_used_at").Optional().Nillable(),
		field.Time("expires_at").Optional().Nillable().Immutable(),
		field.Time("revoked_at").Optional().Nillable(),
	}
}

// Hooks of the APIToken.
func (APIToken) Hooks() []ent.Hook {
	return []ent.Hook{validateDates("expires_at")}
}

// Edges of the APIToken.
func (APIToken) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("user", User.Type).Ref("tokens").Field("user_id").Unique().Required().Immutable(),
	}
}

// Annotations of the APIToken.
func (APIToken) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}

// Policy of the APIToken: only an ADMIN manages users and tokens (on top of the
// TenantMixin's organization rules).
func (APIToken) Policy() ent.Policy {
	return privacy.Policy{
		Mutation: privacy.MutationPolicy{rule.AdminOnly()},
	}
}
