package crm

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/deal"
	"github.com/estateflow/estateflow/ent/task"
	"github.com/estateflow/estateflow/modules/calendar"
	"github.com/estateflow/estateflow/modules/webhooks"
)

// stageOrder is the path of a deal; FELL_THROUGH can follow any open stage.
var stageOrder = []deal.Stage{
	deal.StageLEAD, deal.StageSHOWING, deal.StageOFFER, deal.StageUNDER_CONTRACT, deal.StageINSPECTION,
	deal.StageAPPRAISAL, deal.StageCLOSING, deal.StageCLOSED,
}

// ErrIllegalMove is a stage change a deal cannot make.
var ErrIllegalMove = errors.New("illegal stage change")

// CheckMove tells whether a deal may move from one stage to another:
// forward along the path (stages may be skipped), to FELL_THROUGH from any
// open stage, or to the stage it is in (which changes nothing). Closed and
// fallen-through deals do not move.
func CheckMove(from, to deal.Stage) error {
	if from == to {
		return nil
	}
	if from == deal.StageCLOSED || from == deal.StageFELL_THROUGH {
		return fmt.Errorf("%w: the transaction is %s", ErrIllegalMove, from)
	}
	if to == deal.StageFELL_THROUGH {
		return nil
	}
	if slices.Index(stageOrder, to) < slices.Index(stageOrder, from) {
		return fmt.Errorf("%w: %s comes before %s", ErrIllegalMove, to, from)
	}
	return nil
}

// ChecklistItem is a task a stage brings.
type ChecklistItem struct {
	Key   string
	Type  task.Type
	Title string
	DueAt time.Time
}

// Checklist returns the tasks of entering a stage, with due dates from the
// deal's key dates (or, when a date is missing, from now).
func Checklist(d *ent.Deal, stage deal.Stage, now time.Time) []ChecklistItem {
	or := func(t *time.Time, fallback time.Time) time.Time {
		if t != nil {
			return *t
		}
		return fallback
	}
	accepted := or(d.AcceptanceDate, now)
	closing := or(d.ClosingDate, now.AddDate(0, 0, 30))
	inspection := or(d.InspectionDeadline, accepted.AddDate(0, 0, 10))
	switch stage {
	case deal.StageSHOWING:
		return []ChecklistItem{{"showing.schedule", task.TypeCALL, "Schedule the showings", calendar.AddBusinessDays(now, 2)}}
	case deal.StageOFFER:
		return []ChecklistItem{{"offer.review", task.TypeMEETING, "Prepare and review the offer", or(d.OfferDate, now.AddDate(0, 0, 1))}}
	case deal.StageUNDER_CONTRACT:
		return []ChecklistItem{
			{"contract.inspection", task.TypeCALL, "Order the inspection", accepted.AddDate(0, 0, 2)},
			{"contract.earnest-money", task.TypeEMAIL, "Send the earnest money", accepted.AddDate(0, 0, 3)},
		}
	case deal.StageINSPECTION:
		return []ChecklistItem{
			{"inspection.review", task.TypeMEETING, "Review the inspection report before the deadline", inspection.AddDate(0, 0, -1)},
			{"inspection.repairs", task.TypeCALL, "Negotiate repairs or credits", inspection},
		}
	case deal.StageAPPRAISAL:
		return []ChecklistItem{{"appraisal.confirm", task.TypeCALL, "Confirm the appraisal supports the price", closing.AddDate(0, 0, -10)}}
	case deal.StageCLOSING:
		return []ChecklistItem{
			{"closing.disclosure", task.TypeEMAIL, "Confirm the closing disclosure went out 3 days before closing", closing.AddDate(0, 0, -3)},
			{"closing.walkthrough", task.TypeMEETING, "Final walk-through", closing.AddDate(0, 0, -1)},
		}
	case deal.StageCLOSED:
		return []ChecklistItem{{"closed.thanks", task.TypeEMAIL, "Thank the client and ask for a review", closing.AddDate(0, 0, 2)}}
	case deal.StageFELL_THROUGH:
		return []ChecklistItem{{"fell-through.debrief", task.TypeCALL, "Debrief the client and record why the deal fell through", calendar.AddBusinessDays(now, 1)}}
	}
	return nil
}

// Advance moves a deal to a stage and creates the stage's checklist tasks,
// each once per deal: repeating a move changes nothing. ctx and db must be
// those of an engine.Transact transaction: the TASK_CREATED webhooks of
// the tasks are written to its outbox. It returns the deal and the stage it
// was in.
func Advance(ctx context.Context, db *ent.Client, id int, to deal.Stage, now time.Time) (*ent.Deal, deal.Stage, error) {
	d, err := db.Deal.Get(ctx, id)
	if err != nil {
		return nil, "", err
	}
	from := d.Stage
	if err := CheckMove(d.Stage, to); err != nil {
		return nil, "", err
	}
	if d.Stage != to {
		// The stage in the WHERE makes concurrent moves of one deal
		// serialize: the loser finds no row.
		n, err := db.Deal.Update().Where(deal.ID(id), deal.StageEQ(d.Stage)).SetStage(to).Save(ctx)
		if err != nil {
			return nil, "", err
		}
		if n == 0 {
			return nil, "", fmt.Errorf("%w: the transaction changed meanwhile", ErrIllegalMove)
		}
		d.Stage = to
	}
	var created []int
	for _, item := range Checklist(d, to, now) {
		id, err := db.Task.Create().
			SetClientID(d.ClientID).SetPropertyID(d.PropertyID).SetTransactionID(d.ID).
			SetType(item.Type).SetTitle(item.Title).SetDueAt(item.DueAt).SetChecklistKey(item.Key).
			OnConflictColumns(task.FieldTransactionID, task.FieldChecklistKey).DoNothing().
			ID(ctx)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			// Created when the deal was in this stage before.
		case err != nil:
			return nil, "", fmt.Errorf("creating checklist task %s: %w", item.Key, err)
		default:
			created = append(created, id)
		}
	}
	if err := webhooks.TasksCreated(ctx, db, created); err != nil {
		return nil, "", err
	}
	return d, from, nil
}

// OpenDeal returns the client's transaction in progress, if any.
func OpenDeal(ctx context.Context, db *ent.Client, clientID int) (*ent.Deal, error) {
	d, err := db.Deal.Query().
		Where(deal.ClientID(clientID), deal.StageNotIn(deal.StageCLOSED, deal.StageFELL_THROUGH)).
		Order(ent.Desc(deal.FieldUpdatedAt)).First(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return d, err
}
