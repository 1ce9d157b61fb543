package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// ScheduledPost is a social media post promoting a listing.
type ScheduledPost struct{ ent.Schema }

// Mixin of the ScheduledPost.
func (ScheduledPost) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the ScheduledPost.
func (ScheduledPost) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("platform").Values("FACEBOOK", "INSTAGRAM", "LINKEDIN", "X"),
		field.Time("scheduled_at").Annotations(entgql.OrderField("SCHEDULED_AT")),
		field.Text("text").MaxLen(5000),
		field.Enum("status").Values("SCHEDULED", "POSTED", "CANCELED").Default("SCHEDULED").
			Annotations(entgql.OrderField("STATUS")),
		field.Int("property_id").Immutable(),
		// The post's slot: one post per listing, platform and time, however
		// often a step runs.
		field.Int("run_id").Optional().Nillable().Immutable(),
		field.String("step_key").Optional().Nillable().Immutable(),
	}
}

// Edges of the ScheduledPost.
func (ScheduledPost) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("property", Property.Type).Ref("scheduled_posts").Field("property_id").Unique().Required().Immutable(),
	}
}

// Indexes of the ScheduledPost.
func (ScheduledPost) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("property_id", "platform", "scheduled_at").Unique(),
		index.Fields("organization_id", "status", "scheduled_at"),
		// A run's effects (Run's posts, and their replacement on re-runs).
		index.Fields("run_id"),
		// The nested edge Property.scheduledPosts, with the viewer's
		// organization.
		index.Fields("organization_id", "property_id"),
	}
}

// Annotations of the ScheduledPost.
func (ScheduledPost) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField("scheduledPosts")}
}
