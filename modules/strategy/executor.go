package strategy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/modules/spec"
)

// Executor runs the LISTING_STRATEGY step. It needs a CMA among its
// dependencies; the run's params may set listingStartDate (YYYY-MM-DD).
type Executor struct {
	Client *ent.Client
	Now    func() time.Time
}

// Module describes the strategy step kind.
func Module() spec.Module {
	return spec.Module{
		Name: "strategy",
		Kinds: []spec.StepKind{{
			Kind:     stepkind.ListingStrategy,
			Subject:  stepkind.SubjectProperty,
			Requires: []stepkind.Kind{stepkind.CMAAnalysis}, // the Report, found by its estimatedValue
			Params: []spec.Param{
				{Name: "listingStartDate", Type: spec.Date, Default: "today"},
			},
			NewOutput:   func() spec.StepOutput { return &ListingStrategy{} },
			NewExecutor: func(d spec.Deps) engine.Executor { return Executor{Client: d.Client, Now: d.Now} },
		}},
	}
}

// Execute implements engine.Executor.
func (x Executor) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	report := &analytics.Report{}
	if err := spec.DecodeInput(sc.Inputs, "estimatedValue", report); err != nil {
		return nil, engine.Permanent(fmt.Errorf("a listing strategy needs a CMA_ANALYSIS step among its dependencies: %w", err))
	}
	if sc.Subject.Type != engine.SubjectProperty {
		return nil, engine.Permanent(errors.New("a listing strategy needs a property as the run's subject"))
	}
	p, err := x.Client.Property.Get(ctx, sc.Subject.ID)
	if ent.IsNotFound(err) {
		return nil, engine.Permanent(fmt.Errorf("property %d no longer exists", sc.Subject.ID))
	}
	if err != nil {
		return nil, err
	}
	ids := make([]int, len(report.Comps))
	for i, c := range report.Comps {
		ids[i] = c.PropertyID
	}
	compRecords, err := x.Client.Property.Query().Where(property.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, err
	}
	comps := make([]analytics.Home, len(compRecords))
	for i, c := range compRecords {
		comps[i] = analytics.HomeOf(c)
	}
	start := x.Now()
	if v, ok := sc.Params["listingStartDate"].(string); ok && v != "" {
		if start, err = time.Parse("2006-01-02", v); err != nil {
			return nil, engine.Permanent(fmt.Errorf("params.listingStartDate %q is not a date (YYYY-MM-DD)", v))
		}
	}
	sc.Progress(0.5, "applying the strategy rules")
	return Build(Input{Subject: analytics.HomeOf(p), Features: p.Features, Report: report, Comps: comps, Start: start}), nil
}
