package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/ent/task"
	"github.com/estateflow/estateflow/ent/webhookendpoint"
)

// Topic is the outbox topic of webhook messages.
const Topic = "webhooks.delivery"

// Emit writes, in db's transaction (opened by engine.Transact or by the
// engine itself, with ctx), one delivery of an event per enabled endpoint
// of the viewer's organization that subscribed to its type. The body sent
// is {"type", "timestamp", "data"}, as Standard Webhooks suggests.
func Emit(ctx context.Context, db *ent.Client, eventType string, data map[string]any) error {
	eps, err := subscribers(ctx, db, eventType)
	if err != nil {
		return err
	}
	return deliver(ctx, db, eps, eventType, data)
}

// subscribers loads the viewer's enabled endpoints that subscribed to an
// event type.
func subscribers(ctx context.Context, db *ent.Client, eventType string) ([]*ent.WebhookEndpoint, error) {
	all, err := db.WebhookEndpoint.Query().Where(webhookendpoint.Enabled(true)).Order(webhookendpoint.ByID()).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("webhooks: loading endpoints: %w", err)
	}
	eps := all[:0]
	for _, ep := range all {
		if slices.Contains(ep.EventTypes, eventType) {
			eps = append(eps, ep)
		}
	}
	return eps, nil
}

// deliver writes one delivery (attempt 1) and one outbox message per
// endpoint.
func deliver(ctx context.Context, db *ent.Client, eps []*ent.WebhookEndpoint, eventType string, data map[string]any) error {
	now := time.Now().UTC()
	for _, ep := range eps {
		msgID, err := newMessageID()
		if err != nil {
			return err
		}
		payload := map[string]any{"type": eventType, "timestamp": now.Format(time.RFC3339Nano), "data": data}
		err = db.WebhookDelivery.Create().
			SetEndpointID(ep.ID).SetEventType(eventType).SetMessageID(msgID).SetPayload(payload).
			SetAttempt(1).SetScheduledAt(now).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("webhooks: writing a %s delivery to endpoint %d: %w", eventType, ep.ID, err)
		}
		_, err = engine.Enqueue(ctx, db, engine.OutboxMessage{Topic: Topic, Key: msgID,
			Payload: map[string]any{"endpointId": ep.ID, "messageId": msgID}})
		if err != nil {
			return fmt.Errorf("webhooks: queueing a %s delivery to endpoint %d: %w", eventType, ep.ID, err)
		}
	}
	return nil
}

// OnRunEvents is the engine's Config.OnEvents: a run's end is RUN_FINISHED
// and a step's failure for good STEP_FAILED, written in the transaction of
// the change.
func OnRunEvents(ctx context.Context, db *ent.Client, r *ent.Run, events []*ent.RunEvent) error {
	for _, ev := range events {
		switch ev.Type {
		case runevent.TypeRUN_SUCCEEDED, runevent.TypeRUN_FAILED, runevent.TypeRUN_CANCELED:
			data := runData(r)
			data["status"] = ev.Status
			if r.Error != nil && ev.Type == runevent.TypeRUN_FAILED {
				data["error"] = *r.Error
			}
			data["finishedAt"] = ev.At.UTC().Format(time.RFC3339Nano)
			if err := Emit(ctx, db, RunFinished, data); err != nil {
				return err
			}
		case runevent.TypeSTEP_FAILED:
			data := runData(r)
			if ev.StepKey != nil {
				data["stepKey"] = *ev.StepKey
			}
			data["error"] = ev.Message
			data["failedAt"] = ev.At.UTC().Format(time.RFC3339Nano)
			if err := Emit(ctx, db, StepFailed, data); err != nil {
				return err
			}
		}
	}
	return nil
}

// runData identifies a run in an event's data. IDs are strings, as the
// GraphQL API shows them.
func runData(r *ent.Run) map[string]any {
	d := map[string]any{"runId": fmt.Sprint(r.ID), "packageId": fmt.Sprint(r.PackageID), "packageVersion": r.PackageVersion}
	if r.ClientID != nil {
		d["clientId"] = fmt.Sprint(*r.ClientID)
	}
	if r.PropertyID != nil {
		d["propertyId"] = fmt.Sprint(*r.PropertyID)
	}
	return d
}

// TasksCreated is TASK_CREATED: one event per task, written by the
// writer that created the tasks (given by ID), in the transaction that
// created them. Tasks the writer found already there (a re-executed step,
// a checklist item done before) must not be given.
func TasksCreated(ctx context.Context, db *ent.Client, taskIDs []int) error {
	if len(taskIDs) == 0 {
		return nil
	}
	eps, err := subscribers(ctx, db, TaskCreated)
	if err != nil || len(eps) == 0 {
		return err
	}
	tasks, err := db.Task.Query().Where(task.IDIn(taskIDs...)).Order(task.ByID()).All(ctx)
	if err != nil {
		return fmt.Errorf("webhooks: loading the created tasks: %w", err)
	}
	for _, t := range tasks {
		if err := deliver(ctx, db, eps, TaskCreated, TaskCreatedData(t)); err != nil {
			return err
		}
	}
	return nil
}

// TaskCreatedData is the data of a TASK_CREATED event. IDs are strings, as
// the GraphQL API shows them.
func TaskCreatedData(t *ent.Task) map[string]any {
	d := map[string]any{"taskId": fmt.Sprint(t.ID), "clientId": fmt.Sprint(t.ClientID), "type": string(t.Type),
		"title": t.Title, "dueAt": t.DueAt.UTC().Format(time.RFC3339Nano), "status": string(t.Status)}
	if t.PropertyID != nil {
		d["propertyId"] = fmt.Sprint(*t.PropertyID)
	}
	if t.RunID != nil {
		d["runId"] = fmt.Sprint(*t.RunID)
	}
	if t.TransactionID != nil {
		d["transactionId"] = fmt.Sprint(*t.TransactionID)
	}
	return d
}

// Unsubscribed is EMAIL_UNSUBSCRIBED: a client turned email off through
// the unsubscribe link of an email message, at a time. It is written in
// the unsubscribe's transaction. The data names the client and the email
// the link came from, never the link's token.
func Unsubscribed(ctx context.Context, db *ent.Client, clientID, emailMessageID int, at time.Time) error {
	return Emit(ctx, db, EmailUnsubscribed, map[string]any{
		"clientId":       fmt.Sprint(clientID),
		"emailMessageId": fmt.Sprint(emailMessageID),
		"unsubscribedAt": at.UTC().Format(time.RFC3339Nano),
	})
}

// newMessageID returns a webhook-id: msg_ and 16 random bytes in hex.
func newMessageID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("webhooks: message ID: %w", err)
	}
	return "msg_" + hex.EncodeToString(b[:]), nil
}
