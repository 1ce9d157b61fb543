package schema

import (
	"encoding/json"
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// CMACalibration is what a backtest of an organization's own sales
// measured of the CMA's error: the quantiles that draw its 80% range and
// the error each confidence grade stands for. `estateflow cma calibrate`
// writes one; a CMA uses the organization's latest.
type CMACalibration struct{ ent.Schema }

// Mixin of the CMACalibration.
func (CMACalibration) Mixin() []ent.Mixin { return []ent.Mixin{TimestampsMixin{}, TenantMixin{}} }

// Fields of the CMACalibration.
func (CMACalibration) Fields() []ent.Field {
	return []ent.Field{
		field.Time("calibrated_at").Default(time.Now).Immutable(),
		// sales is how many backtested sales it was measured on.
		field.Int("sales").NonNegative().Immutable(),
		// grades holds analytics.GradeCalibration values (the schema
		// cannot import the analytics package, which imports ent).
		field.JSON("grades", json.RawMessage{}).Immutable(),
	}
}

// Indexes of the CMACalibration.
func (CMACalibration) Indexes() []ent.Index {
	return []ent.Index{index.Fields("organization_id", "calibrated_at")}
}

// Annotations of the CMACalibration: stored for the CMA, not exposed in
// the GraphQL API.
func (CMACalibration) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
