package schema

import (
	"regexp"

	"entgo.io/ent"
	"entgo.io/ent/schema/field"

	"github.com/estateflow/estateflow/ent/privacy"
	"github.com/estateflow/estateflow/ent/schema/rule"
)

// Organization is a brokerage: the tenant that owns every other record.
type Organization struct{ ent.Schema }

// Mixin of the Organization.
func (Organization) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}} }

// Fields of the Organization.
func (Organization) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).Validate(validateNotBlank),
		field.String("slug").
			Unique().
			Match(regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)),
		// The org's IANA time zone: quiet hours and business hours are local to it.
		field.String("timezone").Default("America/Los_Angeles"),
	}
}

// Policy of the Organization: a viewer sees only its own organization, and
// organizations are created and changed by operators only.
func (Organization) Policy() ent.Policy {
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			rule.AllowSystem(),
			rule.FilterToViewerOrganization(),
		},
		Mutation: privacy.MutationPolicy{
			rule.AllowSystem(),
			rule.OperatorsOnly(),
		},
	}
}
