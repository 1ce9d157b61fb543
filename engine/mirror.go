package engine

import (
	"fmt"
	"time"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/steprun"
)

// mirrorStep applies an executed update to the step's loaded copy, so that
// a transaction never has to read back what it just wrote.
func mirrorStep(s *ent.StepRun, m *ent.StepRunMutation) error {
	for _, name := range m.Fields() {
		v, _ := m.Field(name)
		switch name {
		case steprun.FieldStatus:
			s.Status = v.(steprun.Status)
		case steprun.FieldProgress:
			s.Progress = v.(float64)
		case steprun.FieldMessage:
			s.Message = v.(string)
		case steprun.FieldError:
			msg := v.(string)
			s.Error = &msg
		case steprun.FieldOutput:
			s.Output = v.(map[string]any)
		case steprun.FieldAttempt:
			s.Attempt = v.(int)
		case steprun.FieldAttemptBase:
			s.AttemptBase = v.(int)
		case steprun.FieldNextAttemptAt:
			at := v.(time.Time)
			s.NextAttemptAt = &at
		case steprun.FieldWait:
			s.Wait = v.(map[string]any)
		case steprun.FieldDeadlineAt:
			at := v.(time.Time)
			s.DeadlineAt = &at
		case steprun.FieldStartedAt:
			at := v.(time.Time)
			s.StartedAt = &at
		case steprun.FieldFinishedAt:
			at := v.(time.Time)
			s.FinishedAt = &at
		case steprun.FieldUpdatedAt:
			s.UpdatedAt = v.(time.Time)
		default:
			return fmt.Errorf("engine: step field %s is written but not mirrored", name)
		}
	}
	for _, name := range m.AddedFields() {
		v, _ := m.AddedField(name)
		switch name {
		case steprun.FieldAttempt:
			s.Attempt += v.(int)
		default:
			return fmt.Errorf("engine: step field %s is added to but not mirrored", name)
		}
	}
	for _, name := range m.ClearedFields() {
		switch name {
		case steprun.FieldError:
			s.Error = nil
		case steprun.FieldNextAttemptAt:
			s.NextAttemptAt = nil
		case steprun.FieldFinishedAt:
			s.FinishedAt = nil
		case steprun.FieldOutput:
			s.Output = nil
		case steprun.FieldDeadlineAt:
			s.DeadlineAt = nil
		default:
			return fmt.Errorf("engine: step field %s is cleared but not mirrored", name)
		}
	}
	return nil
}

// mirrorRun applies an executed update to the run's loaded copy.
func mirrorRun(r *ent.Run, m *ent.RunMutation) error {
	for _, name := range m.Fields() {
		v, _ := m.Field(name)
		switch name {
		case run.FieldStatus:
			r.Status = v.(run.Status)
		case run.FieldProgress:
			r.Progress = v.(float64)
		case run.FieldLastSeq:
			r.LastSeq = v.(int)
		case run.FieldError:
			msg := v.(string)
			r.Error = &msg
		case run.FieldStartedAt:
			at := v.(time.Time)
			r.StartedAt = &at
		case run.FieldFinishedAt:
			at := v.(time.Time)
			r.FinishedAt = &at
		case run.FieldUpdatedAt:
			r.UpdatedAt = v.(time.Time)
		default:
			return fmt.Errorf("engine: run field %s is written but not mirrored", name)
		}
	}
	for _, name := range m.ClearedFields() {
		switch name {
		case run.FieldError:
			r.Error = nil
		case run.FieldFinishedAt:
			r.FinishedAt = nil
		case run.FieldCompactedAt:
			r.CompactedAt = nil
		default:
			return fmt.Errorf("engine: run field %s is cleared but not mirrored", name)
		}
	}
	return nil
}
