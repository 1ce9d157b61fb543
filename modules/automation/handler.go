package automation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/workflowpackage"
)

// Starter starts runs: the engine.
type Starter interface {
	StartRun(ctx context.Context, req engine.StartRequest) (*ent.Run, error)
}

// Handler turns the messages of TriggerTopic into runs (an
// engine.OutboxHandler).
type Handler struct {
	Client *ent.Client
	Engine Starter
}

// Topic is how the engine delivers TriggerTopic: a start refused for a
// reason that will not pass (the package was archived, the record deleted)
// fails at once; a database error is retried. Starting a run takes
// milliseconds, so an attempt is bounded by 30 s rather than a step's
// default of minutes: that bound is also how long River waits before it
// redelivers the triggers a crashed replica was delivering.
func (h Handler) Topic() engine.OutboxTopic {
	return engine.OutboxTopic{Handler: h, MaxAttempts: 5, Timeout: 30 * time.Second}
}

// Deliver starts the run a message asks for. Its idempotency key is the
// message's key, so that a second delivery returns the run the first one
// started.
func (h Handler) Deliver(ctx context.Context, m *ent.OutboxMessage) (any, error) {
	p := m.Payload
	key, _ := p["packageKey"].(string)
	pkg, err := h.Client.WorkflowPackage.Query().Where(workflowpackage.Key(key)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, engine.Permanent(fmt.Errorf("package %q no longer exists", key))
	}
	if err != nil {
		return nil, err
	}
	// The event committed: the run is owed, and queues behind the backlog
	// rather than being refused for capacity.
	req := engine.StartRequest{PackageID: pkg.ID, IdempotencyKey: &m.Key, Trigger: triggerOf(p), Accepted: true}
	if params, ok := p["params"].(map[string]any); ok {
		req.Params = params
	}
	if v, ok := intOf(p["packageVersion"]); ok {
		req.PackageVersion = &v
	}
	switch pkg.Subject {
	case stepkind.SubjectClient:
		v, ok := intOf(p["clientId"])
		if !ok {
			return nil, engine.Permanent(fmt.Errorf("package %q works on a client, and %s has none", key, p["event"]))
		}
		req.ClientID = &v
	case stepkind.SubjectProperty:
		v, ok := intOf(p["propertyId"])
		if !ok {
			return nil, engine.Permanent(fmt.Errorf("package %q works on a property, and %s has none", key, p["event"]))
		}
		req.PropertyID = &v
	}
	r, err := h.Engine.StartRun(ctx, req)
	var refusal *engine.Error
	if errors.As(err, &refusal) {
		// The run cannot start as asked; asking again will not change it.
		return nil, engine.Permanent(err)
	}
	if err != nil {
		return nil, err
	}
	return r.ID, nil
}

// Record keeps nothing beyond the message's own status and error.
func (Handler) Record(context.Context, *ent.Client, *ent.OutboxMessage, engine.OutboxOutcome) error {
	return nil
}

// triggerOf is what Run.trigger shows of a triggered run.
func triggerOf(p map[string]any) map[string]any {
	t := map[string]any{"kind": "RULE"}
	for _, k := range []string{"ruleId", "event", "recordId", "from", "to", "at"} {
		if v, ok := p[k]; ok {
			t[k] = v
		}
	}
	return t
}

// intOf reads an integer from decoded JSON.
func intOf(v any) (int, bool) {
	switch n := v.(type) {
	case float64:
		return int(n), true
	case int:
		return n, true
	case int64:
		return int(n), true
	}
	return 0, false
}
