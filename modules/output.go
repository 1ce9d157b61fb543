package modules

import (
	"encoding/json"
	"fmt"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/modules/spec"
)

// DecodeOutput decodes a succeeded step's stored output into the Go type
// its module declares for its kind: the GraphQL API's StepRun.output and
// the run reports read outputs through it. A step that has not succeeded,
// or a kind no module implements, has none (nil, nil).
func DecodeOutput(s *ent.StepRun) (spec.StepOutput, error) {
	if s.Status != steprun.StatusSUCCEEDED || s.Output == nil {
		return nil, nil
	}
	k, ok := Find(s.Kind)
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
