package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/contact"
	"github.com/estateflow/estateflow/ent/outboxmessage"
)

// outboxRecorder is an outbox handler that counts deliveries by key, fails the
// first failures attempts of every message, and keeps the outcomes it was
// asked to record.
type outboxRecorder struct {
	failures int

	mu        sync.Mutex
	delivered map[string][]time.Time
	outcomes  map[string][]engine.OutboxOutcome
}

func newOutboxRecorder(failures int) *outboxRecorder {
	return &outboxRecorder{failures: failures, delivered: map[string][]time.Time{}, outcomes: map[string][]engine.OutboxOutcome{}}
}

func (r *outboxRecorder) Deliver(_ context.Context, m *ent.OutboxMessage) (any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delivered[m.Key] = append(r.delivered[m.Key], time.Now())
	if n := len(r.delivered[m.Key]); n <= r.failures {
		return n, fmt.Errorf("attempt %d refused", n)
	}
	return len(r.delivered[m.Key]), nil
}

func (r *outboxRecorder) Record(_ context.Context, _ *ent.Client, m *ent.OutboxMessage, o engine.OutboxOutcome) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes[m.Key] = append(r.outcomes[m.Key], o)
	return nil
}

func (r *outboxRecorder) deliveries(key string) []time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Time(nil), r.delivered[key]...)
}

// outboxEngine starts an engine that delivers topic "test" to h.
func (f *fixture) outboxEngine(topic engine.OutboxTopic) *engine.Engine {
	f.t.Helper()
	e := engine.New(f.db.Client, f.config())
	e.HandleTopic("test", topic)
	if err := e.Start(context.Background()); err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = e.Stop(context.Background()) })
	return e
}

// enqueue renames the fixture's client and writes a message in one
// transaction of e.
func (f *fixture) enqueue(e *engine.Engine, key string, fail bool) error {
	return e.Transact(f.ctx, func(ctx context.Context, db *ent.Client) error {
		if err := db.Contact.UpdateOneID(f.client.ID).SetName("Ana " + key).Exec(ctx); err != nil {
			return err
		}
		if _, err := engine.Enqueue(ctx, db, engine.OutboxMessage{Topic: "test", Key: key, Payload: map[string]any{"k": key}}); err != nil {
			return err
		}
		if fail {
			return errors.New("the change failed")
		}
		return nil
	})
}

// waitMessage waits until the message with key is no longer PENDING.
func (f *fixture) waitMessage(key string) *ent.OutboxMessage {
	f.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := f.db.Client.OutboxMessage.Query().Where(outboxmessage.Key(key)).Only(f.ctx)
		if err != nil {
			f.t.Fatalf("message %s: %v", key, err)
		}
		if m.Status != outboxmessage.StatusPENDING {
			return m
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("message %s still pending after %d attempts", key, m.Attempts)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOutboxDeliversOnceAfterCommit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h := newOutboxRecorder(0)
	e := f.outboxEngine(engine.OutboxTopic{Handler: h})

	if err := f.enqueue(e, "rolled-back", true); err == nil {
		t.Fatal("the failing transaction committed")
	}
	if n, _ := f.db.Client.OutboxMessage.Query().Count(f.ctx); n != 0 {
		t.Fatalf("a rolled-back transaction left %d messages", n)
	}
	if err := f.enqueue(e, "one", false); err != nil {
		t.Fatal(err)
	}
	m := f.waitMessage("one")
	if m.Status != outboxmessage.StatusDONE || m.Attempts != 1 {
		t.Fatalf("message: %s after %d attempts", m.Status, m.Attempts)
	}
	if got := len(h.deliveries("one")); got != 1 {
		t.Fatalf("delivered %d times", got)
	}
	if got := len(h.deliveries("rolled-back")); got != 0 {
		t.Fatalf("the rolled-back message was delivered %d times", got)
	}
	// The change committed with its message.
	if n, _ := f.db.Client.Contact.Query().Where(contact.Name("Ana one")).Count(f.ctx); n != 1 {
		t.Fatal("the change did not commit")
	}

	// Outside a transaction of the engine, a message is refused.
	_, err := engine.Enqueue(f.ctx, f.db.Client, engine.OutboxMessage{Topic: "test", Key: "loose"})
	if !errors.Is(err, engine.ErrNoOutbox) {
		t.Fatalf("Enqueue outside Transact: %v", err)
	}
}

func TestOutboxRetriesWithBackoffThenGivesUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		failures   int
		wantStatus outboxmessage.Status
		wantTries  int
	}{
		{"succeeds on the third attempt", 2, outboxmessage.StatusDONE, 3},
		{"gives up after four attempts", 10, outboxmessage.StatusFAILED, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			h := newOutboxRecorder(tc.failures)
			wait := func(n int) time.Duration { return time.Duration(n) * 40 * time.Millisecond }
			e := f.outboxEngine(engine.OutboxTopic{Handler: h, MaxAttempts: 4, Backoff: wait})
			if err := f.enqueue(e, "m", false); err != nil {
				t.Fatal(err)
			}
			m := f.waitMessage("m")
			if m.Status != tc.wantStatus || m.Attempts != tc.wantTries {
				t.Fatalf("message: %s after %d attempts, want %s after %d", m.Status, m.Attempts, tc.wantStatus, tc.wantTries)
			}
			times := h.deliveries("m")
			if len(times) != tc.wantTries {
				t.Fatalf("delivered %d times, want %d", len(times), tc.wantTries)
			}
			// Each retry waited at least its backoff: 40ms, 80ms, 120ms.
			for i := 1; i < len(times); i++ {
				if gap := times[i].Sub(times[i-1]); gap < wait(i) {
					t.Errorf("attempt %d came %v after attempt %d, before its backoff of %v", i+1, gap, i, wait(i))
				}
			}
			h.mu.Lock()
			outcomes := h.outcomes["m"]
			h.mu.Unlock()
			if len(outcomes) != tc.wantTries {
				t.Fatalf("recorded %d outcomes", len(outcomes))
			}
			for i, o := range outcomes {
				last := i == len(outcomes)-1
				if o.Attempt != i+1 || (o.NextAttemptAt == nil) != last {
					t.Errorf("outcome %d: attempt %d, next %v", i, o.Attempt, o.NextAttemptAt)
				}
			}
		})
	}
}

// A message committed while no engine delivers (the process died after
// the commit) is delivered once by the next engine, and not again by the
// one after.
func TestOutboxCommittedWhileStoppedIsDeliveredOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	h := newOutboxRecorder(0)

	dead := engine.New(f.db.Client, f.config())
	dead.HandleTopic("test", engine.OutboxTopic{Handler: h})
	if err := dead.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := dead.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := f.enqueue(dead, "orphan", false); err != nil {
		t.Fatal(err)
	}
	m, err := f.db.Client.OutboxMessage.Query().Where(outboxmessage.Key("orphan")).Only(f.ctx)
	if err != nil || m.Status != outboxmessage.StatusPENDING || len(h.deliveries("orphan")) != 0 {
		t.Fatalf("before the restart: %v, %v, %d deliveries", m, err, len(h.deliveries("orphan")))
	}

	for i := range 2 {
		e := engine.New(f.db.Client, f.config())
		e.HandleTopic("test", engine.OutboxTopic{Handler: h})
		if err := e.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		// A marker written after the start is delivered after what the
		// start found due.
		marker := fmt.Sprintf("marker-%d", i)
		if err := f.enqueue(e, marker, false); err != nil {
			t.Fatal(err)
		}
		f.waitMessage(marker)
		f.waitMessage("orphan")
		if err := e.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := len(h.deliveries("orphan")); got != 1 {
			t.Fatalf("after restart %d: delivered %d times", i+1, got)
		}
	}
}
