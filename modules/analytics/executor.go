package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
)

// Executor runs the CMA_ANALYSIS step on the run's property. Its config and
// the run's params may carry Options (asOf, minComps, maxComps,
// maxRadiusMiles, maxLookbackMonths); the step's config wins.
type Executor struct {
	Client *ent.Client
}

// Execute implements engine.Executor.
func (x Executor) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	if sc.Subject.Type != engine.SubjectProperty {
		return nil, engine.Permanent(errors.New("a CMA needs a property as the run's subject"))
	}
	p, err := x.Client.Property.Get(ctx, sc.Subject.ID)
	if err != nil {
		if ent.IsNotFound(err) {
			return nil, engine.Permanent(fmt.Errorf("property %d no longer exists", sc.Subject.ID))
		}
		return nil, err
	}
	return ValueStep(ctx, x.Client, sc, p)
}

// ValueStep values p for a step: the run's params overlay Options and the
// step's config overlays them (Params lists them). Errors no retry can
// cure (too few comps, no living area) are permanent.
func ValueStep(ctx context.Context, db *ent.Client, sc *engine.StepContext, p *ent.Property) (*Report, error) {
	var opts Options
	for _, src := range []map[string]any{sc.Params, sc.Config} {
		if err := decodeInto(src, &opts); err != nil {
			return nil, engine.Permanent(fmt.Errorf("CMA options: %w", err))
		}
	}
	report, err := Value(ctx, EntSource{Client: db}, HomeOf(p), opts, sc.Progress)
	var tooFew *TooFewCompsError
	if errors.As(err, &tooFew) || errors.Is(err, ErrNoLivingArea) {
		return nil, engine.Permanent(err)
	}
	return report, err
}

// decodeInto overlays the option fields present in m onto opts.
func decodeInto(m map[string]any, opts *Options) error {
	if len(m) == 0 {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, opts)
}
