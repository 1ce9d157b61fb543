package strategy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/modules/analytics"
)

// Executor runs the LISTING_STRATEGY step. It needs a CMA among its
// dependencies; the run's params may set listingStartDate (YYYY-MM-DD).
type Executor struct {
	Client *ent.Client
	Now    func() time.Time
}

// Register registers the strategy step kind with the engine.
func Register(e *engine.Engine, client *ent.Client) {
	e.Register(string(stepkind.ListingStrategy), Executor{Client: client, Now: time.Now})
}

// Execute implements engine.Executor.
func (x Executor) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	report, err := cmaInput(sc.Inputs)
	if err != nil {
		return nil, engine.Permanent(err)
	}
	if sc.Subject.Type != "PROPERTY" {
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

// cmaInput finds the CMA report among the step's inputs.
func cmaInput(inputs map[string]map[string]any) (*analytics.Report, error) {
	for key, out := range inputs {
		if _, ok := out["estimatedValue"]; !ok {
			continue
		}
		b, err := json.Marshal(out)
		if err != nil {
			return nil, err
		}
		var r analytics.Report
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("the output of step %q is not a CMA report: %w", key, err)
		}
		return &r, nil
	}
	return nil, errors.New("a listing strategy needs a CMA_ANALYSIS step among its dependencies")
}
