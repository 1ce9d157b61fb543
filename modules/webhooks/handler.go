package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/notification"
	"github.com/estateflow/estateflow/ent/webhookdelivery"
	"github.com/estateflow/estateflow/ent/webhookendpoint"
)

// Handler sends webhook messages and records each attempt (the engine's
// OutboxHandler for Topic).
type Handler struct {
	Client *ent.Client
	// HTTP sends the requests (default NewHTTPClient(Timeout)).
	HTTP *http.Client
	// Timeout limits an attempt (default 15s).
	Timeout time.Duration
	// MaxAttempts bounds a message's attempts (default 6: about 31
	// minutes of backoff from a 1 minute base).
	MaxAttempts int
	// Backoff is the wait after the given number of failed attempts
	// (default: 1 minute, doubling).
	Backoff func(failedAttempts int) time.Duration
	// DisableAfter is how many messages in a row may fail for good before
	// the endpoint is disabled (default 5).
	DisableAfter int
	// Now is the clock of the webhook-timestamp header (default time.Now).
	Now func() time.Time
}

func (h *Handler) setDefaults() {
	if h.Timeout <= 0 {
		h.Timeout = 15 * time.Second
	}
	if h.HTTP == nil {
		h.HTTP = NewHTTPClient(h.Timeout)
	}
	if h.MaxAttempts <= 0 {
		h.MaxAttempts = 6
	}
	if h.Backoff == nil {
		h.Backoff = func(n int) time.Duration { return time.Minute << min(n-1, 10) }
	}
	if h.DisableAfter <= 0 {
		h.DisableAfter = 5
	}
	if h.Now == nil {
		h.Now = time.Now
	}
}

// Topic is how the engine delivers Topic.
func (h *Handler) Topic() engine.OutboxTopic {
	h.setDefaults()
	return engine.OutboxTopic{Handler: h, MaxAttempts: h.MaxAttempts, Backoff: h.Backoff, Timeout: h.Timeout + 5*time.Second}
}

// StatusError is an answer other than 2xx.
type StatusError struct{ Code int }

func (e *StatusError) Error() string {
	return fmt.Sprintf("the endpoint answered %d %s", e.Code, http.StatusText(e.Code))
}

// Deliver sends the message's current attempt. The result is the HTTP
// status code, 0 when there was no answer.
func (h *Handler) Deliver(ctx context.Context, m *ent.OutboxMessage) (any, error) {
	d, err := h.Client.WebhookDelivery.Query().
		Where(webhookdelivery.MessageID(m.Key), webhookdelivery.Attempt(m.Attempts+1)).
		WithEndpoint().Only(ctx)
	if ent.IsNotFound(err) {
		return 0, engine.Permanent(errors.New("the delivery was deleted with its endpoint"))
	}
	if err != nil {
		return 0, err
	}
	ep := d.Edges.Endpoint
	if !ep.Enabled {
		return 0, engine.Permanent(errors.New("the endpoint is disabled"))
	}
	body, err := json.Marshal(d.Payload)
	if err != nil {
		return 0, engine.Permanent(fmt.Errorf("encoding the payload: %w", err))
	}
	ts := h.Now().Unix()
	sig, err := Sign(ep.Secret, m.Key, ts, body)
	if err != nil {
		return 0, engine.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, engine.Permanent(fmt.Errorf("the endpoint's URL: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "EstateFlow-Webhooks/1")
	req.Header.Set("webhook-id", m.Key)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := h.HTTP.Do(req)
	if err != nil {
		return 0, fmt.Errorf("the endpoint could not be reached: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	serr := &StatusError{Code: resp.StatusCode}
	if resp.StatusCode == http.StatusGone {
		// 410: the receiver says the endpoint is gone for good.
		return resp.StatusCode, engine.Permanent(serr)
	}
	return resp.StatusCode, serr
}

// Record writes the attempt's outcome to its delivery row, the next
// attempt's row when one follows, and the endpoint's failure count; the
// endpoint is disabled, and the organization's admins notified, after
// DisableAfter messages in a row failed for good.
func (h *Handler) Record(ctx context.Context, db *ent.Client, m *ent.OutboxMessage, o engine.OutboxOutcome) error {
	d, err := db.WebhookDelivery.Query().
		Where(webhookdelivery.MessageID(m.Key), webhookdelivery.Attempt(o.Attempt)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil // deleted with its endpoint
	}
	if err != nil {
		return err
	}
	final := o.NextAttemptAt == nil
	upd := d.Update().SetAttemptedAt(o.At).SetFinal(final)
	if code, ok := o.Result.(int); ok && code != 0 {
		upd.SetResponseCode(code)
	}
	if o.Err == nil {
		upd.SetStatus(webhookdelivery.StatusSUCCEEDED)
	} else {
		upd.SetStatus(webhookdelivery.StatusFAILED).SetError(o.Err.Error())
	}
	if err := upd.Exec(ctx); err != nil {
		return fmt.Errorf("webhooks: recording attempt %d of %s: %w", o.Attempt, m.Key, err)
	}
	if !final {
		return db.WebhookDelivery.Create().
			SetEndpointID(d.EndpointID).SetEventType(d.EventType).SetMessageID(d.MessageID).SetPayload(d.Payload).
			SetAttempt(o.Attempt + 1).SetScheduledAt(*o.NextAttemptAt).
			Exec(ctx)
	}
	ep, err := db.WebhookEndpoint.Get(ctx, d.EndpointID)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.Err == nil {
		if ep.ConsecutiveFailures > 0 {
			return ep.Update().SetConsecutiveFailures(0).Exec(ctx)
		}
		return nil
	}
	if !ep.Enabled {
		return nil // failed because it was disabled meanwhile
	}
	failures := ep.ConsecutiveFailures + 1
	upd2 := db.WebhookEndpoint.UpdateOneID(ep.ID).Where(webhookendpoint.Enabled(true)).SetConsecutiveFailures(failures)
	if failures < h.DisableAfter {
		return upd2.Exec(ctx)
	}
	reason := fmt.Sprintf("disabled after %d deliveries in a row failed for good; the last: %s", failures, o.Err)
	if len(reason) > 500 {
		reason = reason[:500]
	}
	if err := upd2.SetEnabled(false).SetDisabledReason(reason).SetDisabledAt(o.At).Exec(ctx); err != nil {
		return fmt.Errorf("webhooks: disabling endpoint %d: %w", ep.ID, err)
	}
	return db.Notification.Create().
		SetKind(notification.KindWEBHOOK_ENDPOINT_DISABLED).
		SetTitle("A webhook endpoint was disabled").
		SetBody(fmt.Sprintf("EstateFlow stopped sending events to %s: %s. Fix the receiver, then set enabled to true on the endpoint (updateWebhookEndpoint) to resume; events in the meantime are not sent.", ep.URL, reason)).
		SetSubjectID(ep.ID).
		Exec(ctx)
}
