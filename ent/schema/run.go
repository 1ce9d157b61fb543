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

// Run is one execution of a package, pinned to the package version it
// started from.
type Run struct{ ent.Schema }

// Mixin of the Run.
func (Run) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the Run.
func (Run) Fields() []ent.Field {
	return []ent.Field{
		field.Int("package_id").Immutable(),
		field.Int("package_version").Immutable().Positive(),
		field.Int("property_id").Optional().Nillable().Immutable(),
		field.Int("client_id").Optional().Nillable().Immutable(),
		field.JSON("params", map[string]any{}).Optional().Immutable().
			Annotations(entgql.Type("Map")),
		field.Enum("status").
			Values("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELING", "CANCELED").
			Default("QUEUED").
			Annotations(entgql.OrderField("STATUS")),
		field.Float("progress").Default(0).Range(0, 1),
		field.Int("last_seq").Default(0).Min(0).
			Comment("The seq of the run's latest event; the next event takes last_seq+1 under the run's row lock.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("request_hash").Optional().Immutable().
			Comment("A hash of the start request, to tell a retried start from a different one with the same idempotency key.").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.String("idempotency_key").Optional().Nillable().Immutable().NotEmpty().MaxLen(200),
		// trigger records what started the run when it was not a person's
		// startRun: for an automation rule, the rule, the event and the
		// record (graph resolves Run.trigger from it).
		field.JSON("trigger", map[string]any{}).Optional().Immutable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Text("error").Optional().Nillable(),
		field.Time("started_at").Optional().Nillable().
			Annotations(entgql.OrderField("STARTED_AT")),
		field.Time("finished_at").Optional().Nillable().
			Annotations(entgql.OrderField("FINISHED_AT")),
		field.Time("compacted_at").Optional().Nillable().
			Comment("When the organization's event retention last compacted the run's progress events; nil: its history is complete, seqs 1..last_seq.").
			Annotations(entgql.Skip(entgql.SkipWhereInput, entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}

// Edges of the Run.
func (Run) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("package", WorkflowPackage.Type).Field("package_id").Unique().Required().Immutable().
			Annotations(entsql.OnDelete(entsql.Restrict)),
		// A subject with runs cannot be deleted: the runs' history would
		// lose what it was about.
		edge.To("property", Property.Type).Field("property_id").Unique().Immutable().
			Annotations(entsql.OnDelete(entsql.Restrict)),
		edge.To("client", Contact.Type).Field("client_id").Unique().Immutable().
			Annotations(entsql.OnDelete(entsql.Restrict)),
		edge.To("steps", StepRun.Type).
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.To("events", RunEvent.Type).
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the Run.
func (Run) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("organization_id", "idempotency_key").Unique(),
		index.Fields("organization_id", "status"),
		// The nested edges Property.runs, Client.runs and Package.runs, and
		// their totalCount: every query also has the viewer's
		// organization_id, so a count reads the index alone.
		index.Fields("organization_id", "property_id"),
		index.Fields("organization_id", "client_id"),
		index.Fields("organization_id", "package_id"),
		// runs(orderBy: CREATED_AT) and the admission's count of runs
		// finished lately (engine/admission.go).
		index.Fields("organization_id", "created_at"),
		index.Fields("finished_at"),
		// The admission's count of runs in flight per organization.
		index.Fields("status", "organization_id"),
		// The retention's search for finished runs not yet compacted.
		index.Fields("organization_id", "compacted_at", "finished_at"),
	}
}

// Annotations of the Run.
func (Run) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField("runs")}
}
