package schema

import (
	"regexp"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

// WorkflowPackage is a package: a workflow an agent can run: an ordered set of steps that form a
// DAG. Updating a package replaces its steps and bumps its version; runs keep
// a snapshot of the steps they started with, so they are never affected.
//
// GraphQL and the product call it Package; "package" is a Go keyword, so the
// schema and the Go type are named WorkflowPackage.
type WorkflowPackage struct{ ent.Schema }

// Mixin of the WorkflowPackage.
func (WorkflowPackage) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the WorkflowPackage.
func (WorkflowPackage) Fields() []ent.Field {
	return []ent.Field{
		field.String("key").
			Immutable().
			Match(regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)).
			Annotations(entgql.OrderField("KEY")),
		field.String("name").NotEmpty().MaxLen(200).Validate(validateNotBlank).
			Annotations(entgql.OrderField("NAME")),
		field.Text("description").Default("").MaxLen(5000),
		field.Enum("subject").GoType(stepkind.Subject("")).Immutable().
			Annotations(entgql.Type("PackageSubject")),
		field.Int("version").Default(1).Positive(),
		field.Bool("archived").Default(false),
	}
}

// Edges of the WorkflowPackage.
func (WorkflowPackage) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("steps", PackageStep.Type).
			Annotations(entsql.OnDelete(entsql.Cascade)),
		edge.From("runs", Run.Type).Ref("package").
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Indexes of the WorkflowPackage.
func (WorkflowPackage) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("organization_id", "key").Unique(),
	}
}

// Annotations of the WorkflowPackage.
func (WorkflowPackage) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.Type("Package"),
		entsql.Annotation{Table: "packages"},
		entgql.RelayConnection(),
		entgql.QueryField("packages"),
	}
}
