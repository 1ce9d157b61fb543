package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/outboxmessage"
	"github.com/estateflow/estateflow/tenant"
)

// The outbox: a message written in the same transaction as the change it
// announces, then delivered to its topic's handler after the commit. A
// change and its message commit together or not at all, and a message is
// delivered until its handler succeeds or gives up, however often the
// process dies in between. The engine knows topics, not what they mean:
// modules register a handler per topic (HandleTopic) and write messages in
// Transact, or in the engine's own transactions (Config.OnEvents, effects).
//
//   - With River, the transaction that writes a message inserts its job,
//     and the transaction that records a failed attempt inserts the next
//     attempt's job, scheduled at the backoff.
//   - With the pool, a loop (outboxLoop) delivers the messages that are
//     due: at once when a transaction commits one, and then at each
//     retry's time, or every SweepInterval, whichever comes first; a
//     message committed while no engine ran is delivered by the next one
//     to start.
//
// Delivery is at least once: a process that dies after its handler acted
// but before the outcome committed delivers the message again, so handlers
// are idempotent (the trigger handler starts its run with an idempotency
// key derived from the message). The outcome of each attempt commits
// together with what the handler records of it (OutboxHandler.Record); an
// attempt whose outcome another process recorded first changes nothing.

// OutboxHandler delivers the messages of one topic.
type OutboxHandler interface {
	// Deliver acts on a committed message. ctx carries the message's
	// organization as the viewer, and ends at the topic's timeout or on
	// shutdown. It may be called more than once for one message. An error
	// marked Permanent ends the message at once.
	Deliver(ctx context.Context, m *ent.OutboxMessage) (result any, err error)
	// Record writes what the handler keeps of an attempt, in the
	// transaction that records the attempt's outcome. db is bound to it.
	Record(ctx context.Context, db *ent.Client, m *ent.OutboxMessage, o OutboxOutcome) error
}

// OutboxOutcome is how an attempt to deliver a message ended.
type OutboxOutcome struct {
	// Attempt counts from 1.
	Attempt int
	// Result is what Deliver returned; Err is its error, nil on success.
	Result any
	Err    error
	// NextAttemptAt is when the next attempt is due; nil when none follows
	// (success, a permanent error, or the attempts are used up).
	NextAttemptAt *time.Time
	At            time.Time
}

// OutboxTopic is how the messages of a topic are delivered.
type OutboxTopic struct {
	Handler OutboxHandler
	// MaxAttempts bounds the attempts of a message (default
	// Config.DefaultMaxAttempts).
	MaxAttempts int
	// Backoff is the wait after the given number of failed attempts
	// (default: the steps' exponential backoff from Config.BackoffBase).
	Backoff func(failedAttempts int) time.Duration
	// Timeout limits an attempt (default Config.DefaultTimeout).
	Timeout time.Duration
}

// OutboxMessage is a message to write with Enqueue.
type OutboxMessage struct {
	Topic string
	// Key identifies the event within its topic and organization: the
	// same key cannot be written twice.
	Key     string
	Payload map[string]any
}

// ErrNoOutbox refuses a message written outside Transact and the engine's
// own transactions: it would not commit with its change, or would not be
// delivered when it did.
var ErrNoOutbox = errors.New("engine: an outbox message must be written in a transaction of the engine (Engine.Transact)")

// outboxRef is a message to deliver: its attempt, and when.
type outboxRef struct {
	orgID, id, attempt int
	at                 time.Time
}

// outboxBatch collects the messages a transaction wrote, for the
// dispatcher to deliver once it commits. now is the engine's clock at the
// transaction's start: a message falls due by the clock River and the
// pool's loop go by, which tests move.
type outboxBatch struct {
	now  time.Time
	refs []outboxRef
}

type outboxKey struct{}

func withOutbox(ctx context.Context, b *outboxBatch) context.Context {
	return context.WithValue(ctx, outboxKey{}, b)
}

// Enqueue writes a message in db's transaction, which Transact (or the
// engine's own transaction) opened with ctx. The message is delivered once
// that transaction commits.
func Enqueue(ctx context.Context, db *ent.Client, msg OutboxMessage) (*ent.OutboxMessage, error) {
	b, ok := ctx.Value(outboxKey{}).(*outboxBatch)
	if !ok {
		return nil, ErrNoOutbox
	}
	now := b.now
	m, err := db.OutboxMessage.Create().
		SetTopic(msg.Topic).SetKey(msg.Key).SetPayload(msg.Payload).SetNextAttemptAt(now).
		Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine: writing outbox message %s/%s: %w", msg.Topic, msg.Key, err)
	}
	b.refs = append(b.refs, outboxRef{orgID: m.OrganizationID, id: m.ID, attempt: 1, at: now})
	return m, nil
}

// HandleTopic makes h deliver the messages of a topic. Call it before
// Start.
func (e *Engine) HandleTopic(topic string, t OutboxTopic) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		panic("engine: HandleTopic after Start")
	}
	if t.MaxAttempts <= 0 {
		t.MaxAttempts = e.cfg.DefaultMaxAttempts
	}
	if t.Backoff == nil {
		base, limit := e.cfg.BackoffBase, e.cfg.BackoffMax
		t.Backoff = func(n int) time.Duration { return backoff(n, base, limit) }
	}
	if t.Timeout <= 0 {
		t.Timeout = e.cfg.DefaultTimeout
	}
	e.topics[topic] = t
}

// Transact runs fn in a transaction of the engine: the messages fn writes
// with Enqueue (through ctx and db, which fn must use) commit with its
// other writes and are delivered once they do. On PostgreSQL, their River
// jobs commit in the same transaction; a stopped engine still writes them,
// for the next one to deliver.
func (e *Engine) Transact(ctx context.Context, fn func(ctx context.Context, db *ent.Client) error) error {
	_, err := e.transact(ctx, func(ctx context.Context, db *ent.Client) (*txn, error) {
		return nil, fn(ctx, db)
	})
	return err
}

// deliverOutbox makes the given attempt of a message, if the message still
// waits for it, and records its outcome. It returns errShutdown, leaving
// the message as it was, when ctx ends first.
func (e *Engine) deliverOutbox(ctx context.Context, ref outboxRef) error {
	dbCtx := tenant.NewContext(context.WithoutCancel(ctx), tenant.Viewer{OrgID: ref.orgID})
	m, err := e.client.OutboxMessage.Get(dbCtx, ref.id)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("engine: loading outbox message %d: %w", ref.id, err)
	}
	if m.Status != outboxmessage.StatusPENDING || m.Attempts != ref.attempt-1 {
		return nil // delivered, given up, or this attempt was made already
	}
	topic, ok := e.topics[m.Topic]
	if !ok {
		return e.recordOutbox(dbCtx, ref, OutboxTopic{MaxAttempts: 1}, nil,
			Permanent(fmt.Errorf("no handler is registered for outbox topic %q", m.Topic)))
	}
	attemptCtx, cancel := context.WithTimeout(tenant.NewContext(ctx, tenant.Viewer{OrgID: ref.orgID}), topic.Timeout)
	result, derr := e.safeDeliver(attemptCtx, topic.Handler, m)
	cancel()
	if ctx.Err() != nil && derr != nil {
		return errShutdown // the next start makes this attempt again
	}
	return e.recordOutbox(dbCtx, ref, topic, result, derr)
}

func (e *Engine) safeDeliver(ctx context.Context, h OutboxHandler, m *ent.OutboxMessage) (result any, err error) {
	defer func() {
		if p := recover(); p != nil {
			e.log.Error("engine: outbox handler panicked", "topic", m.Topic, "message", m.ID, "panic", p)
			err = fmt.Errorf("the %s handler panicked", m.Topic)
		}
	}()
	return h.Deliver(ctx, m)
}

// recordOutbox records an attempt's outcome, with what the handler keeps
// of it, in one transaction; a failed attempt with attempts left schedules
// the next.
func (e *Engine) recordOutbox(ctx context.Context, ref outboxRef, topic OutboxTopic, result any, derr error) error {
	_, err := e.transact(ctx, func(ctx context.Context, db *ent.Client) (*txn, error) {
		q := db.OutboxMessage.Query().Where(outboxmessage.ID(ref.id))
		if e.cfg.Dialect == dialect.Postgres {
			q.ForUpdate()
		}
		m, err := q.Only(ctx)
		if err != nil {
			return nil, err
		}
		if m.Status != outboxmessage.StatusPENDING || m.Attempts != ref.attempt-1 {
			return nil, errSkip // another process recorded this attempt
		}
		now := e.now().UTC()
		o := OutboxOutcome{Attempt: ref.attempt, Result: result, Err: derr, At: now}
		upd := db.OutboxMessage.UpdateOneID(m.ID).SetAttempts(ref.attempt)
		switch {
		case derr == nil:
			upd.SetStatus(outboxmessage.StatusDONE).SetFinishedAt(now).ClearLastError()
		case IsPermanent(derr) || ref.attempt >= topic.MaxAttempts:
			upd.SetStatus(outboxmessage.StatusFAILED).SetFinishedAt(now).SetLastError(derr.Error())
		default:
			next := now.Add(topic.Backoff(ref.attempt))
			o.NextAttemptAt = &next
			upd.SetNextAttemptAt(next).SetLastError(derr.Error())
			b := ctx.Value(outboxKey{}).(*outboxBatch)
			b.refs = append(b.refs, outboxRef{orgID: ref.orgID, id: m.ID, attempt: ref.attempt + 1, at: next})
		}
		if m, err = upd.Save(ctx); err != nil {
			return nil, err
		}
		if topic.Handler != nil {
			if err := topic.Handler.Record(ctx, db, m, o); err != nil {
				return nil, err
			}
		}
		return nil, nil
	})
	if errors.Is(err, errSkip) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("engine: recording attempt %d of outbox message %d: %w", ref.attempt, ref.id, err)
	}
	return nil
}
