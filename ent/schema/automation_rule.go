package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// AutomationRule is a trigger: when an event happens to a record of the
// organization (a client created, a stage or status changed), start a
// package on that record. modules/automation matches events to rules and
// validates rules; the engine's outbox turns each match into one run.
type AutomationRule struct{ ent.Schema }

// Mixin of the AutomationRule.
func (AutomationRule) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the AutomationRule.
func (AutomationRule) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).Validate(validateNotBlank).
			Annotations(entgql.OrderField("NAME")),
		field.Enum("event").
			Values("CLIENT_CREATED", "CLIENT_STAGE_CHANGED", "PROPERTY_STATUS_CHANGED", "TRANSACTION_STAGE_CHANGED"),
		// from_stage and to_stage narrow a change event: a client's stage,
		// a property's status or a transaction's stage, by its enum value.
		// Unset matches any.
		field.String("from_stage").Optional().Nillable().NotEmpty().MaxLen(40),
		field.String("to_stage").Optional().Nillable().NotEmpty().MaxLen(40),
		field.String("package_key").NotEmpty().MaxLen(100),
		// package_version pins a version; unset runs the latest.
		field.Int("package_version").Optional().Nillable().Positive().Max(maxGraphQLInt),
		// Conditions on the record; unset matches any.
		field.Enum("condition_lead_source").
			Values("REFERRAL", "WEBSITE", "OPEN_HOUSE", "SOCIAL", "ZILLOW", "OTHER").
			Optional().Nillable(),
		field.Strings("condition_zips").Optional().Validate(validateStringList(100)).
			Comment("ZIP codes: the property's ZIP, or one of a client's preferred areas."),
		field.Int("condition_price_min").Optional().Nillable().Min(0).Max(maxGraphQLInt).
			Comment("Price band: a property's list price, a transaction's price, a client's maximum budget."),
		field.Int("condition_price_max").Optional().Nillable().Min(0).Max(maxGraphQLInt),
		field.JSON("params", map[string]any{}).Optional().
			Annotations(entgql.Type("Map")),
		field.Bool("enabled").Default(true),
	}
}

// Hooks of the AutomationRule.
func (AutomationRule) Hooks() []ent.Hook {
	return []ent.Hook{
		validateOrder("condition_price_min", "condition_price_max", "must not be less than conditionPriceMin"),
	}
}

// Indexes of the AutomationRule.
func (AutomationRule) Indexes() []ent.Index {
	return []ent.Index{index.Fields("organization_id", "event", "enabled")}
}

// Annotations of the AutomationRule.
func (AutomationRule) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField("automationRules"),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
	}
}
