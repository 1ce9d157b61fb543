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
	"github.com/estateflow/estateflow/ent/webhookendpoint"
)

// Topic is the outbox topic of webhook messages.
const Topic = "webhooks.delivery"

// Emit writes, in db's transaction (opened by engine.Transact or by the
// engine itself, with ctx), one delivery of an event per enabled endpoint
// of the viewer's organization that subscribed to its type. The body sent
// is {"type", "timestamp", "data"}, as Standard Webhooks suggests.
func Emit(ctx context.Context, db *ent.Client, eventType string, data map[string]any) error {
	eps, err := db.WebhookEndpoint.Query().Where(webhookendpoint.Enabled(true)).Order(webhookendpoint.ByID()).All(ctx)
	if err != nil {
		return fmt.Errorf("webhooks: loading endpoints: %w", err)
	}
	now := time.Now().UTC()
	for _, ep := range eps {
		if !slices.Contains(ep.EventTypes, eventType) {
			continue
		}
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

// TaskCreatedData is the data of a TASK_CREATED event.
func TaskCreatedData(t *ent.Task) map[string]any {
	d := map[string]any{"taskId": fmt.Sprint(t.ID), "clientId": fmt.Sprint(t.ClientID), "type": string(t.Type),
		"title": t.Title, "dueAt": t.DueAt.UTC().Format(time.RFC3339)}
	if t.RunID != nil {
		d["runId"] = fmt.Sprint(*t.RunID)
	}
	if t.TransactionID != nil {
		d["transactionId"] = fmt.Sprint(*t.TransactionID)
	}
	return d
}

// newMessageID returns a webhook-id: msg_ and 16 random bytes in hex.
func newMessageID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("webhooks: message ID: %w", err)
	}
	return "msg_" + hex.EncodeToString(b[:]), nil
}
