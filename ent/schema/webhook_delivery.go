package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// WebhookDelivery is one attempt to deliver a webhook message to an
// endpoint: the log an organization reads to see what its endpoint was
// sent and how it answered. A message's attempts share its webhook-id.
type WebhookDelivery struct{ ent.Schema }

// Mixin of the WebhookDelivery.
func (WebhookDelivery) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the WebhookDelivery.
func (WebhookDelivery) Fields() []ent.Field {
	return []ent.Field{
		field.Int("endpoint_id").Immutable(),
		field.String("event_type").NotEmpty().MaxLen(40).Immutable(),
		// message_id is the webhook-id header: the same on every attempt of
		// a message, so that receivers can drop duplicates.
		field.String("message_id").NotEmpty().MaxLen(100).Immutable(),
		field.JSON("payload", map[string]any{}).Immutable().
			Annotations(entgql.Type("Map")),
		field.Int("attempt").Positive().Immutable(),
		// PENDING: not sent yet; SUCCEEDED: a 2xx answer; FAILED: sent and
		// refused, or not reachable (a later attempt may follow).
		field.Enum("status").Values("PENDING", "SUCCEEDED", "FAILED").Default("PENDING").
			Annotations(entgql.OrderField("STATUS")),
		field.Int("response_code").Optional().Nillable(),
		field.Text("error").Optional().Nillable(),
		// final is set on the attempt after which no other follows.
		field.Bool("final").Default(false),
		field.Time("scheduled_at"),
		field.Time("attempted_at").Optional().Nillable(),
	}
}

// Edges of the WebhookDelivery.
func (WebhookDelivery) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("endpoint", WebhookEndpoint.Type).Ref("deliveries").Field("endpoint_id").
			Unique().Required().Immutable(),
	}
}

// Indexes of the WebhookDelivery.
func (WebhookDelivery) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("message_id", "attempt").Unique(),
		index.Fields("endpoint_id", "created_at"),
	}
}

// Annotations of the WebhookDelivery: read through its endpoint.
func (WebhookDelivery) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput),
	}
}
