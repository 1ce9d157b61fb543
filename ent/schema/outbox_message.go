package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// OutboxMessage is the engine's transactional outbox (engine/outbox.go): a
// message written in the same transaction as the change it announces, and
// delivered to its topic's handler after the commit, at least once, until
// the handler succeeds or gives up. The engine knows only topics; what a
// message means belongs to the module that handles its topic.
type OutboxMessage struct{ ent.Schema }

// Mixin of the OutboxMessage.
func (OutboxMessage) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the OutboxMessage.
func (OutboxMessage) Fields() []ent.Field {
	return []ent.Field{
		field.String("topic").NotEmpty().MaxLen(100).Immutable(),
		// key identifies the event within its topic: writing the same
		// event twice is refused by the unique index.
		field.String("key").NotEmpty().MaxLen(300).Immutable(),
		field.JSON("payload", map[string]any{}).Optional().Immutable(),
		field.Enum("status").Values("PENDING", "DONE", "FAILED").Default("PENDING"),
		// attempts counts the deliveries tried so far.
		field.Int("attempts").Default(0).NonNegative(),
		field.Time("next_attempt_at"),
		field.Text("last_error").Optional().Nillable(),
		field.Time("finished_at").Optional().Nillable(),
	}
}

// Indexes of the OutboxMessage.
func (OutboxMessage) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("organization_id", "topic", "key").Unique(),
		index.Fields("status", "next_attempt_at"),
	}
}

// Annotations of the OutboxMessage: the engine's bookkeeping, not part of
// the GraphQL API.
func (OutboxMessage) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
