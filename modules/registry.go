package modules

import (
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/modules/approval"
	"github.com/estateflow/estateflow/modules/crm"
	"github.com/estateflow/estateflow/modules/homevalue"
	"github.com/estateflow/estateflow/modules/marketing"
	"github.com/estateflow/estateflow/modules/spec"
	"github.com/estateflow/estateflow/modules/strategy"
)

// All lists every module. It builds the list afresh on each call, so no
// caller can change what another sees.
func All() []spec.Module {
	return []spec.Module{
		analytics.Module(),
		strategy.Module(),
		crm.Module(),
		marketing.Module(),
		approval.Module(),
		homevalue.Module(),
	}
}

// Find returns the description of kind k, if a module implements it.
func Find(k stepkind.Kind) (spec.StepKind, bool) {
	for _, m := range All() {
		for _, sk := range m.Kinds {
			if sk.Kind == k {
				return sk, true
			}
		}
	}
	return spec.StepKind{}, false
}

// Register registers the executor of every step kind of every module with
// e. A nil deps.Now is the wall clock.
func Register(e *engine.Engine, deps spec.Deps) {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	for _, m := range All() {
		for _, k := range m.Kinds {
			e.Register(string(k.Kind), k.NewExecutor(deps))
		}
	}
}
