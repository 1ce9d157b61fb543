package spec

import (
	"encoding/json"
	"fmt"
)

// DecodeInput finds, among a step's inputs (its dependencies' outputs by
// step key), the output that has the given field, and decodes it into
// into. Steps find their inputs by what they hold, not by the key a
// package author chose.
func DecodeInput(inputs map[string]map[string]any, field string, into any) error {
	for key, out := range inputs {
		if _, ok := out[field]; !ok {
			continue
		}
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, into); err != nil {
			return fmt.Errorf("the output of step %q: %w", key, err)
		}
		return nil
	}
	return fmt.Errorf("no dependency's output has %q", field)
}
