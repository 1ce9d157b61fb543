package approval

import (
	"encoding/json"
	"fmt"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

// requestOf decodes a stored request (the wait's detail).
func requestOf(detail map[string]any) (Request, error) {
	var req Request
	b, err := json.Marshal(detail)
	if err != nil {
		return req, fmt.Errorf("approval request: %w", err)
	}
	if err := json.Unmarshal(b, &req); err != nil {
		return req, fmt.Errorf("approval request: %w", err)
	}
	return req, nil
}

// RequestOf returns what an APPROVAL step asks for, once it has begun
// waiting (its wait is stored); nil for another kind, or before.
func RequestOf(s *ent.StepRun) (*Request, error) {
	if s.Kind != stepkind.Approval || s.Wait == nil {
		return nil, nil
	}
	w, err := engine.WaitDetail(s)
	if err != nil {
		return nil, err
	}
	req, err := requestOf(w)
	if err != nil {
		return nil, err
	}
	return &req, nil
}
