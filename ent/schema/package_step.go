package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

// PackageStep is one step of the current version of a package.
type PackageStep struct{ ent.Schema }

// Mixin of the PackageStep.
func (PackageStep) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the PackageStep.
func (PackageStep) Fields() []ent.Field {
	return []ent.Field{
		field.Int("package_id").Immutable(),
		field.String("key").NotEmpty().MaxLen(64).Validate(validateNotBlank),
		field.String("name").NotEmpty().MaxLen(200).Validate(validateNotBlank),
		field.Enum("kind").GoType(stepkind.Kind("")).Annotations(entgql.Type("StepKind")),
		field.Strings("depends_on").Default([]string{}),
		field.JSON("config", map[string]any{}).Optional().
			Annotations(entgql.Type("Map")),
		field.Int("max_attempts").Optional().Nillable().Range(1, 25).
			Comment("Attempts before the step fails for good; nil means the engine's default."),
		field.Int("timeout_seconds").Optional().Nillable().Range(1, 86400).
			Comment("Limit for one attempt; nil means the engine's default."),
		field.Int("position").Min(0),
	}
}

// Edges of the PackageStep.
func (PackageStep) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("package", WorkflowPackage.Type).Ref("steps").
			Field("package_id").Unique().Required().Immutable(),
	}
}

// Indexes of the PackageStep.
func (PackageStep) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("package_id", "key").Unique(),
	}
}

// Annotations of the PackageStep.
func (PackageStep) Annotations() []schema.Annotation { return nil }
