package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// outboxJobKind is River's name for an attempt to deliver an outbox
// message (outbox.go).
const outboxJobKind = "estateflow_outbox_delivery"

// OutboxJobArgs is one attempt to deliver an outbox message, as a River
// job.
type OutboxJobArgs struct {
	OrgID     int `json:"org_id"`
	MessageID int `json:"message_id"`
	Attempt   int `json:"attempt"`
}

// Kind implements river.JobArgs.
func (OutboxJobArgs) Kind() string { return outboxJobKind }

// enqueueOutbox inserts, in the transaction, the jobs of the messages it
// wrote or scheduled for another attempt.
func (d *riverDispatcher) enqueueOutbox(ctx context.Context, tx *sql.Tx, client *river.Client[*sql.Tx], b *outboxBatch) error {
	if len(b.refs) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(b.refs))
	for i, ref := range b.refs {
		params[i] = river.InsertManyParams{
			Args:       OutboxJobArgs{OrgID: ref.orgID, MessageID: ref.id, Attempt: ref.attempt},
			InsertOpts: &river.InsertOpts{ScheduledAt: ref.at},
		}
	}
	if _, err := client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("engine: enqueueing outbox messages: %w", err)
	}
	return nil
}

// outboxWorker delivers outbox messages on River.
type outboxWorker struct {
	river.WorkerDefaults[OutboxJobArgs]
	e *Engine
}

// Timeout lets River end a job that outlived the longest topic timeout.
func (w *outboxWorker) Timeout(*river.Job[OutboxJobArgs]) time.Duration {
	return w.e.maxTopicTimeout() + jobTimeoutMargin
}

// Work makes the job's attempt, unless it was made already.
func (w *outboxWorker) Work(ctx context.Context, job *river.Job[OutboxJobArgs]) error {
	a := job.Args
	err := w.e.deliverOutbox(ctx, outboxRef{orgID: a.OrgID, id: a.MessageID, attempt: a.Attempt})
	if errors.Is(err, errShutdown) {
		if err := ctx.Err(); err != nil {
			return err
		}
		return river.JobSnooze(0)
	}
	return err
}
