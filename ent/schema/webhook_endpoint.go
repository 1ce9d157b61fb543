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

// WebhookEndpoint is a URL an organization registered to receive events,
// signed per Standard Webhooks (modules/webhooks).
type WebhookEndpoint struct{ ent.Schema }

// Mixin of the WebhookEndpoint.
func (WebhookEndpoint) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the WebhookEndpoint.
func (WebhookEndpoint) Fields() []ent.Field {
	return []ent.Field{
		field.String("url").NotEmpty().MaxLen(2000).
			Annotations(entgql.OrderField("URL")),
		field.String("description").Default("").MaxLen(500),
		// event_types holds RUN_FINISHED, STEP_FAILED, TASK_CREATED and
		// EMAIL_UNSUBSCRIBED values (checked by modules/webhooks).
		field.Strings("event_types").Validate(validateStringList(10)),
		// secret is the signing key, without its whsec_ prefix: shown once,
		// when the endpoint is created, and never read back.
		field.String("secret").Sensitive().Immutable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Bool("enabled").Default(true),
		// consecutive_failures counts deliveries that failed for good since
		// the last success; reaching the limit disables the endpoint.
		field.Int("consecutive_failures").Default(0).NonNegative().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.String("disabled_reason").Optional().Nillable().MaxLen(500).
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Time("disabled_at").Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}

// Edges of the WebhookEndpoint.
func (WebhookEndpoint) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("deliveries", WebhookDelivery.Type).
			Annotations(
				entgql.RelayConnection(),
				entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
				entsql.OnDelete(entsql.Cascade),
			),
	}
}

// Indexes of the WebhookEndpoint.
func (WebhookEndpoint) Indexes() []ent.Index {
	return []ent.Index{index.Fields("organization_id", "enabled")}
}

// Annotations of the WebhookEndpoint.
func (WebhookEndpoint) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField("webhookEndpoints"),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
	}
}
