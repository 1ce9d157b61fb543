package graph

import (
	"encoding/json"
	"fmt"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/modules"
	"github.com/estateflow/estateflow/modules/spec"
)

// typedOutput decodes a succeeded step's stored output into the Go type its
// module declares for its kind, for StepRun.output. A kind no module
// implements has no typed output; outputJSON still carries what it stored.
func typedOutput(s *ent.StepRun) (spec.StepOutput, error) {
	if s.Status != steprun.StatusSUCCEEDED || s.Output == nil {
		return nil, nil
	}
	k, ok := modules.Find(s.Kind)
	if !ok || k.NewOutput == nil {
		return nil, nil
	}
	out := k.NewOutput()
	b, err := json.Marshal(s.Output)
	if err != nil {
		return nil, fmt.Errorf("step run %d output: %w", s.ID, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("step run %d output is not a %s output: %w", s.ID, s.Kind, err)
	}
	return out, nil
}
