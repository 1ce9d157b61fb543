package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/estateflow/estateflow/ent/schema/schedulespec"
)

// Schedule starts a package on a cron expression, in the organization's
// time zone, once per record its filter chooses (see
// modules/automation/schedule.go). The next fire time is the cursor that
// the replicas advance together with claiming an occurrence, so that each
// occurrence is claimed once.
type Schedule struct{ ent.Schema }

// Mixin of the Schedule.
func (Schedule) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the Schedule.
func (Schedule) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).Validate(validateNotBlank).
			Annotations(entgql.OrderField("NAME")),
		// A standard five-field cron expression (or @daily, @weekly, ...),
		// read in the organization's time zone.
		field.String("cron").NotEmpty().MaxLen(200),
		field.String("package_key").NotEmpty().MaxLen(63),
		// Set: fire only while the package is at this version.
		field.Int("package_version").Optional().Nillable().Positive(),
		field.JSON("record_filter", schedulespec.Filter{}).
			Annotations(entgql.Type("ScheduleFilter"), entgql.Skip(entgql.SkipWhereInput, entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.JSON("params", map[string]any{}).Optional().
			Annotations(entgql.Type("Map"), entgql.Skip(entgql.SkipWhereInput, entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Enum("missed_policy").Values("SKIP", "RUN_ONCE").Default("SKIP"),
		// How late a missed occurrence may still run, under RUN_ONCE.
		field.Int("catch_up_window_seconds").Default(86400).Range(60, 31*86400),
		field.Bool("paused").Default(false),
		// The next occurrence not yet claimed; nil while paused.
		field.Time("next_fire_at").Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		// An occurrence claimed and not yet fired to the end, and until
		// when the claim holds: after a crash, another tick fires it again
		// (idempotently) once the lease has passed.
		field.Time("pending_fire_at").Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("pending_lease_until").Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("last_fire_at").Optional().Nillable().
			Annotations(entgql.OrderField("LAST_FIRE_AT"), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.JSON("last_outcome", &schedulespec.Outcome{}).Optional().
			Annotations(entgql.Type("ScheduleOutcome"), entgql.Skip(entgql.SkipWhereInput, entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}

// Indexes of the Schedule.
func (Schedule) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("paused", "next_fire_at"),
		index.Fields("organization_id", "name"),
	}
}

// Annotations of the Schedule.
func (Schedule) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entsql.Annotation{Table: "schedules"},
		entgql.RelayConnection(),
		entgql.QueryField("schedules"),
	}
}
