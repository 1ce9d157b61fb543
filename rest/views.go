package rest

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/estateflow/estateflow/ent"
)

// runJSON is a run as REST clients see it. Field names follow the start
// request's (packageId, propertyId, clientId); IDs are strings, times
// RFC 3339 in UTC.
type runJSON struct {
	ID             string         `json:"id"`
	PackageID      string         `json:"packageId"`
	PackageVersion int            `json:"packageVersion"`
	PropertyID     *string        `json:"propertyId"`
	ClientID       *string        `json:"clientId"`
	Params         map[string]any `json:"params"`
	Status         string         `json:"status"`
	Progress       float64        `json:"progress"`
	IdempotencyKey *string        `json:"idempotencyKey"`
	Error          *string        `json:"error"`
	CreatedAt      time.Time      `json:"createdAt"`
	UpdatedAt      time.Time      `json:"updatedAt"`
	StartedAt      *time.Time     `json:"startedAt"`
	FinishedAt     *time.Time     `json:"finishedAt"`
	// Steps is left out of lists, and present (in position order) for
	// a single run.
	Steps *[]stepJSON `json:"steps,omitempty"`
}

// stepJSON is one step run. Output is the step's stored result as plain
// JSON (GraphQL's outputJSON), null until the step succeeds.
type stepJSON struct {
	ID            string          `json:"id"`
	Key           string          `json:"key"`
	Name          string          `json:"name"`
	Kind          string          `json:"kind"`
	DependsOn     []string        `json:"dependsOn"`
	Position      int             `json:"position"`
	Status        string          `json:"status"`
	Attempt       int             `json:"attempt"`
	Progress      float64         `json:"progress"`
	Message       string          `json:"message"`
	Error         *string         `json:"error"`
	Output        json.RawMessage `json:"output"`
	NextAttemptAt *time.Time      `json:"nextAttemptAt"`
	CreatedAt     time.Time       `json:"createdAt"`
	UpdatedAt     time.Time       `json:"updatedAt"`
	StartedAt     *time.Time      `json:"startedAt"`
	FinishedAt    *time.Time      `json:"finishedAt"`
}

func newRunJSON(r *ent.Run) runJSON {
	params := r.Params
	if params == nil {
		params = map[string]any{}
	}
	return runJSON{
		ID:             idString(r.ID),
		PackageID:      idString(r.PackageID),
		PackageVersion: r.PackageVersion,
		PropertyID:     optionalIDString(r.PropertyID),
		ClientID:       optionalIDString(r.ClientID),
		Params:         params,
		Status:         r.Status.String(),
		Progress:       r.Progress,
		IdempotencyKey: r.IdempotencyKey,
		Error:          r.Error,
		CreatedAt:      r.CreatedAt.UTC(),
		UpdatedAt:      r.UpdatedAt.UTC(),
		StartedAt:      utc(r.StartedAt),
		FinishedAt:     utc(r.FinishedAt),
	}
}

// newRunWithSteps includes the run's steps, which must have been loaded
// (WithSteps) in position order.
func newRunWithSteps(r *ent.Run) (runJSON, error) {
	out := newRunJSON(r)
	steps := make([]stepJSON, 0, len(r.Edges.Steps))
	for _, s := range r.Edges.Steps {
		sj, err := newStepJSON(s)
		if err != nil {
			return runJSON{}, err
		}
		steps = append(steps, sj)
	}
	out.Steps = &steps
	return out, nil
}

func newStepJSON(s *ent.StepRun) (stepJSON, error) {
	output := json.RawMessage("null")
	if s.Output != nil {
		b, err := json.Marshal(s.Output)
		if err != nil {
			return stepJSON{}, err
		}
		output = b
	}
	dependsOn := s.DependsOn
	if dependsOn == nil {
		dependsOn = []string{}
	}
	return stepJSON{
		ID:            idString(s.ID),
		Key:           s.Key,
		Name:          s.Name,
		Kind:          string(s.Kind),
		DependsOn:     dependsOn,
		Position:      s.Position,
		Status:        s.Status.String(),
		Attempt:       s.Attempt,
		Progress:      s.Progress,
		Message:       s.Message,
		Error:         s.Error,
		Output:        output,
		NextAttemptAt: utc(s.NextAttemptAt),
		CreatedAt:     s.CreatedAt.UTC(),
		UpdatedAt:     s.UpdatedAt.UTC(),
		StartedAt:     utc(s.StartedAt),
		FinishedAt:    utc(s.FinishedAt),
	}, nil
}

func idString(id int) string { return strconv.Itoa(id) }

func optionalIDString(id *int) *string {
	if id == nil {
		return nil
	}
	s := idString(*id)
	return &s
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
