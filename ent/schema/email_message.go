package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// EmailMessage is one email of a drip sequence, scheduled for sending.
type EmailMessage struct{ ent.Schema }

// Mixin of the EmailMessage.
func (EmailMessage) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// noFilter keeps header values out of the generated where-filters: nobody
// searches emails by them.
var noFilter = entgql.Skip(entgql.SkipWhereInput)

// Fields of the EmailMessage.
func (EmailMessage) Fields() []ent.Field {
	return []ent.Field{
		field.String("to").NotEmpty().MaxLen(320),
		field.String("subject").NotEmpty().MaxLen(300),
		field.Text("body"),
		field.Time("scheduled_at").Annotations(entgql.OrderField("SCHEDULED_AT")),
		field.Enum("status").Values("SCHEDULED", "SENT", "CANCELED").Default("SCHEDULED").
			Annotations(entgql.OrderField("STATUS")),
		field.Int("client_id").Immutable(),
		// The sender's identity, from the organization's profile when the
		// message was planned: the From header a delivery worker sends.
		field.String("from_name").Default("").MaxLen(200).Immutable().Annotations(noFilter),
		field.String("from_email").Default("").MaxLen(320).Immutable().Annotations(noFilter),
		// RFC 2369 / RFC 8058 header values, stored so that a delivery worker
		// sends them as they are: List-Unsubscribe holds the one-click
		// link (<https://…/u/TOKEN>), List-Unsubscribe-Post is
		// "List-Unsubscribe=One-Click". The same link is in the body's footer.
		field.String("list_unsubscribe").Default("").MaxLen(1000).Immutable().Annotations(noFilter),
		field.String("list_unsubscribe_post").Default("").MaxLen(100).Immutable().Annotations(noFilter),
		// The random-looking, per-message half of the unsubscribe token (an
		// HMAC of the run, step and place under the organization's key): the
		// public endpoint finds the message by it. Not exposed: it is half of
		// a credential.
		field.String("unsubscribe_nonce").Optional().Nillable().Immutable().Sensitive().
			Annotations(entgql.Skip(entgql.SkipAll)),
		// Set when a later Lead Nurture run on the client replaced this
		// message's sequence: the message is CANCELED and this names the run
		// that superseded it.
		// A run's ID is a global ID beyond GraphQL's 32-bit Int: exposed as an ID.
		field.Int("superseded_by_run_id").Optional().Nillable().
			Annotations(entgql.Type("ID"), entgql.Skip(entgql.SkipWhereInput)),
		// The run, step and place in the sequence: a re-executed step finds
		// its messages instead of scheduling them twice.
		field.Int("run_id").Optional().Nillable().Immutable(),
		field.String("step_key").Optional().Nillable().Immutable(),
		field.Int("plan_index").Optional().Nillable().Immutable(),
	}
}

// Edges of the EmailMessage.
func (EmailMessage) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("client", Contact.Type).Ref("email_messages").Field("client_id").Unique().Required().Immutable(),
	}
}

// Indexes of the EmailMessage.
func (EmailMessage) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("run_id", "step_key", "plan_index").Unique(),
		index.Fields("organization_id", "status", "scheduled_at"),
		index.Fields("unsubscribe_nonce").Unique(),
		index.Fields("client_id", "status"),
		// The nested edge Client.emailMessages, with the viewer's organization.
		index.Fields("organization_id", "client_id"),
	}
}

// Annotations of the EmailMessage.
func (EmailMessage) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField("emailMessages")}
}
