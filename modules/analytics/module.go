package analytics

import (
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/modules/spec"
)

// Module describes the analytics step kinds.
func Module() spec.Module {
	return spec.Module{
		Name: "analytics",
		Kinds: []spec.StepKind{{
			Kind:        stepkind.CMAAnalysis,
			Subject:     stepkind.SubjectProperty,
			Params:      Params(),
			NewOutput:   func() spec.StepOutput { return &Report{} },
			NewExecutor: func(d spec.Deps) engine.Executor { return Executor{Client: d.Client} },
		}},
	}
}

// Params are the run parameters a CMA reads: they overlay Options (the
// step's config wins); zero takes the default, as Options documents.
func Params() []spec.Param {
	return []spec.Param{
		{Name: "asOf", Type: spec.DateTime, Default: "now"},
		{Name: "minComps", Type: spec.Integer, Min: new(0.0), Default: "3"},
		{Name: "maxComps", Type: spec.Integer, Min: new(0.0), Default: "10"},
		{Name: "maxRadiusMiles", Type: spec.Number, Min: new(0.0), Default: "10"},
		{Name: "maxLookbackMonths", Type: spec.Integer, Min: new(0.0), Default: "36"},
	}
}
