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

// Task is a CRM to-do for an agent: call, text, email or meet a client, or
// prepare to (find a missing phone number).
type Task struct{ ent.Schema }

// Mixin of the Task.
func (Task) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the Task.
func (Task) Fields() []ent.Field {
	return []ent.Field{
		// TODO is work before a client can be reached, such as finding a
		// phone number: a call or text is never planned without one.
		field.Enum("type").Values("CALL", "TEXT", "EMAIL", "MEETING", "TODO"),
		field.String("title").NotEmpty().MaxLen(300).Validate(validateNotBlank),
		field.Text("notes").Default("").MaxLen(5000),
		field.Time("due_at").Annotations(entgql.OrderField("DUE_AT")),
		field.Enum("status").Values("OPEN", "DONE", "CANCELED").Default("OPEN").
			Annotations(entgql.OrderField("STATUS")),
		field.Int("client_id").Immutable(),
		field.Int("property_id").Optional().Nillable(),
		field.Int("assignee_id").Optional().Nillable(),
		field.Int("transaction_id").Optional().Nillable(),
		// Set on a transaction's stage checklist tasks: one task per item,
		// however often the stage is entered.
		field.String("checklist_key").Optional().Nillable().Immutable(),
		// The run and step that created the task, and its place in the
		// step's plan: a re-executed step finds its tasks instead of
		// adding them again.
		field.Int("run_id").Optional().Nillable().Immutable(),
		field.String("step_key").Optional().Nillable().Immutable(),
		field.Int("plan_index").Optional().Nillable().Immutable(),
		// Set when a later Lead Nurture run on the client replaced the
		// follow-ups this task belonged to: the task is CANCELED and this
		// names the run that superseded it.
		// A run's ID is a global ID beyond GraphQL's 32-bit Int: exposed as an ID.
		field.Int("superseded_by_run_id").Optional().Nillable().
			Annotations(entgql.Type("ID"), entgql.Skip(entgql.SkipWhereInput)),
	}
}

// Hooks of the Task.
func (Task) Hooks() []ent.Hook {
	return []ent.Hook{validateDates("due_at")}
}

// Edges of the Task.
func (Task) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("client", Contact.Type).Ref("tasks").Field("client_id").Unique().Required().Immutable(),
		edge.To("property", Property.Type).Field("property_id").Unique().
			Annotations(entsql.OnDelete(entsql.SetNull)),
		edge.To("assignee", User.Type).Field("assignee_id").Unique().
			Annotations(entsql.OnDelete(entsql.SetNull)),
		edge.From("transaction", Deal.Type).Ref("tasks").Field("transaction_id").Unique(),
		// The run whose step created the task: an agent can see why it
		// exists. Runs are never deleted; if one were, its tasks stay.
		edge.To("run", Run.Type).Field("run_id").Unique().Immutable().
			Annotations(entsql.OnDelete(entsql.SetNull)),
	}
}

// Indexes of the Task.
func (Task) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("run_id", "step_key", "plan_index").Unique(),
		index.Fields("transaction_id", "checklist_key").Unique(),
		index.Fields("organization_id", "status", "due_at"),
		// The nested edges Client.tasks and Property.tasks (every query also
		// has the viewer's organization_id).
		index.Fields("organization_id", "client_id"),
		index.Fields("organization_id", "property_id"),
	}
}

// Annotations of the Task.
func (Task) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField("tasks")}
}
