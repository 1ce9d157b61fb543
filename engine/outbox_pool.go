package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/outboxmessage"
	"github.com/estateflow/estateflow/tenant"
)

// outboxLoop delivers the pool's due outbox messages (outbox.go): when a
// transaction commits one (wake), when the earliest retry falls due, and
// every SweepInterval. It is the only deliverer of a process on SQLite, so
// a message is never delivered twice at once.
type outboxLoop struct {
	e      *Engine
	wakeC  chan struct{} // capacity 1: "a message may be due"
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

const (
	// outboxBatchSize is how many due messages one pass loads.
	outboxBatchSize = 100
	// outboxParallel bounds the messages delivered at once, so that a slow
	// webhook receiver does not hold up the others.
	outboxParallel = 8
)

func (e *Engine) startOutboxLoop() *outboxLoop {
	ctx, cancel := context.WithCancel(context.Background())
	l := &outboxLoop{e: e, wakeC: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go l.run()
	return l
}

// wake makes the loop look for due messages now.
func (l *outboxLoop) wake() {
	select {
	case l.wakeC <- struct{}{}:
	default:
	}
}

// stop interrupts the deliveries in progress, which stay due for the next
// start, and waits for the loop to end.
func (l *outboxLoop) stop() {
	l.cancel()
	<-l.done
}

func (l *outboxLoop) run() {
	defer close(l.done)
	for {
		next, more := l.pass()
		wait := l.e.cfg.SweepInterval
		if more {
			wait = 0
		} else if !next.IsZero() {
			wait = min(wait, max(time.Until(next), 0))
		}
		t := time.NewTimer(wait)
		select {
		case <-l.ctx.Done():
			t.Stop()
			return
		case <-l.wakeC:
		case <-t.C:
		}
		t.Stop()
	}
}

// pass delivers one batch of due messages. It returns when the next
// message falls due (zero: none waits), and whether more were due than one
// batch holds.
func (l *outboxLoop) pass() (next time.Time, more bool) {
	sys := tenant.SystemContext(l.ctx)
	q := l.e.client.OutboxMessage.Query().Where(outboxmessage.StatusEQ(outboxmessage.StatusPENDING))
	due, err := q.Clone().Where(outboxmessage.NextAttemptAtLTE(l.e.now().UTC())).
		Order(outboxmessage.ByNextAttemptAt(), outboxmessage.ByID()).
		Limit(outboxBatchSize).
		Select(outboxmessage.FieldID, outboxmessage.FieldOrganizationID, outboxmessage.FieldAttempts).
		All(sys)
	if err != nil {
		if l.ctx.Err() == nil {
			l.e.log.Error("engine: loading due outbox messages", "err", err)
		}
		return time.Time{}, false
	}
	sem := make(chan struct{}, outboxParallel)
	var wg sync.WaitGroup
	for _, m := range due {
		sem <- struct{}{}
		wg.Add(1)
		go func(m *ent.OutboxMessage) {
			defer func() { <-sem; wg.Done() }()
			ref := outboxRef{orgID: m.OrganizationID, id: m.ID, attempt: m.Attempts + 1}
			if err := l.e.deliverOutbox(l.ctx, ref); err != nil && !errors.Is(err, errShutdown) {
				l.e.log.Error("engine: delivering outbox message", "message", m.ID, "err", err)
			}
		}(m)
	}
	wg.Wait()
	if len(due) == outboxBatchSize {
		return time.Time{}, true
	}
	first, err := q.Order(outboxmessage.ByNextAttemptAt()).Select(outboxmessage.FieldNextAttemptAt).First(sys)
	if err != nil {
		return time.Time{}, false // none waits, or the next sweep finds it
	}
	return first.NextAttemptAt, false
}
