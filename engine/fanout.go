package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/predicate"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/tenant"
)

// Fan-out lets subscribers of one process see the events that other
// processes on the same PostgreSQL database commit. Each transaction that
// appends events sends a NOTIFY with a small payload (origin, organization,
// run, first and last seq); the events themselves stay in the table. Every
// engine LISTENs, and on a notification from another process reads those
// events (if a runEvents stream here wants them) and the run's state (if a
// state stream here wants it), once for all its subscribers, and hands them
// to its local broker; it reads nothing when no one here subscribes to that
// run or organization. (A NOTIFY payload is limited to 8000 bytes and a
// run's state, with its error and params, may not fit, so the state is read
// rather than carried.)
//
// Nothing is lost when the LISTEN connection drops: pq.Listener reconnects,
// and the engine then pokes every local stream with its run's latest stored
// event, which makes the stream fill the gap from the table by seq (see
// streamRun). Duplicates are harmless: streams skip seqs they have sent.

// maxIdentifierLength is PostgreSQL's limit on names, channels included.
const maxIdentifierLength = 63

// fanout carries events between the processes on one database.
type fanout interface {
	// announce tells the other processes, in t's transaction, of the
	// events t appends; they hear of them when, and only if, t commits.
	announce(t *txn) error
	// stop stops listening; nothing the fan-out started outlives it.
	stop()
	// ready reports whether events of other processes reach this one.
	ready() error
	// reconnects counts how often listening had to start over.
	reconnects() int
}

// noFanout is the fan-out of a process alone on its database, which has
// no one to tell and nothing to hear.
type noFanout struct{}

func (noFanout) announce(*txn) error { return nil }
func (noFanout) stop()               {}
func (noFanout) ready() error        { return nil }
func (noFanout) reconnects() int     { return 0 }

// pgFanout is the fan-out over PostgreSQL's NOTIFY and LISTEN.
type pgFanout struct {
	e       *Engine
	channel string // per schema, so that databases sharing a server stay apart
	origin  string // this engine's ID, to skip its own notifications

	listener *pq.Listener
	quit     chan struct{} // closed by stop
	done     chan struct{} // closed when listen returns

	mu             sync.Mutex
	lastHeard      time.Time // the last notification or answered ping
	connected      bool      // per pq's events
	listened       bool      // LISTEN succeeded once; pq repeats it on every reconnect
	listening      bool
	lostAt         time.Time // when the connection last dropped
	reconnectCount int
	lastConnErr    error
}

// fanoutPayload is what a notification carries.
type fanoutPayload struct {
	origin            string
	orgID, runID      int
	fromSeq, untilSeq int
	// cancel asks every process to interrupt the run's running steps: the
	// transaction moved the run to CANCELING.
	cancel bool
}

func (p fanoutPayload) String() string {
	flag := 0
	if p.cancel {
		flag = 1
	}
	return fmt.Sprintf("%s %d %d %d %d %d", p.origin, p.orgID, p.runID, p.fromSeq, p.untilSeq, flag)
}

func parseFanoutPayload(s string) (fanoutPayload, error) {
	f := strings.Fields(s)
	if len(f) != 6 || (f[5] != "0" && f[5] != "1") {
		return fanoutPayload{}, fmt.Errorf("engine: fan-out payload %q: want 6 fields", s)
	}
	p := fanoutPayload{origin: f[0]}
	for i, dst := range []*int{&p.orgID, &p.runID, &p.fromSeq, &p.untilSeq} {
		n, err := strconv.Atoi(f[i+1])
		if err != nil || n <= 0 {
			return fanoutPayload{}, fmt.Errorf("engine: fan-out payload %q: field %d is not a positive integer", s, i+2)
		}
		*dst = n
	}
	if p.fromSeq > p.untilSeq {
		return fanoutPayload{}, fmt.Errorf("engine: fan-out payload %q: seqs out of order", s)
	}
	p.cancel = f[5] == "1"
	return p, nil
}

// startFanout starts listening for the events of other processes, before
// any transaction of this engine runs: from then on every transaction
// announces its events.
func startFanout(ctx context.Context, e *Engine) (*pgFanout, error) {
	schema, err := currentSchema(ctx, e.client)
	if err != nil {
		return nil, fmt.Errorf("engine: reading the schema for fan-out: %w", err)
	}
	origin := make([]byte, 8)
	_, _ = rand.Read(origin)
	channel := "estateflow_events_" + schema
	if len(channel) > maxIdentifierLength {
		// PostgreSQL truncates long LISTEN names but refuses long NOTIFY
		// ones; a digest keeps schemas apart within the limit.
		sum := sha256.Sum256([]byte(schema))
		channel = "estateflow_events_" + hex.EncodeToString(sum[:12])
	}
	appName := "estateflow-listen-" + schema
	if len(appName) > maxIdentifierLength {
		appName = appName[:maxIdentifierLength]
	}
	dsn, err := withApplicationName(e.cfg.ListenDSN, appName)
	if err != nil {
		return nil, err
	}
	f := &pgFanout{
		e:       e,
		channel: channel,
		origin:  hex.EncodeToString(origin),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	f.listener = pq.NewListener(dsn, 100*time.Millisecond, 5*time.Second, f.onListenerEvent)
	go func() {
		defer close(f.done)
		f.listen()
	}()
	return f, nil
}

func currentSchema(ctx context.Context, client *ent.Client) (string, error) {
	rows, err := client.QueryContext(ctx, "SELECT current_schema()")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var schema sql.NullString
	if rows.Next() {
		if err := rows.Scan(&schema); err != nil {
			return "", err
		}
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if err := rows.Close(); err != nil {
		return "", err
	}
	if schema.String == "" {
		return "", errors.New("the database reports no current schema")
	}
	return schema.String, nil
}

func (f *pgFanout) stop() {
	close(f.quit)
	<-f.done
}

// withApplicationName names the LISTEN connection, so that operators (and
// tests) can find it in pg_stat_activity.
func withApplicationName(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("engine: fan-out connection string: %w", err)
		}
		q := u.Query()
		q.Set("application_name", name)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return dsn + " application_name=" + name, nil
}

func (f *pgFanout) heard() {
	f.mu.Lock()
	f.lastHeard = time.Now()
	f.mu.Unlock()
}

func (f *pgFanout) onListenerEvent(ev pq.ListenerEventType, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch ev {
	case pq.ListenerEventConnected:
		f.connected = true
		f.listening = f.listened // LISTEN may have been acknowledged first
	case pq.ListenerEventDisconnected:
		f.connected = false
		f.listening = false
		f.lostAt = time.Now()
		f.lastConnErr = err
	case pq.ListenerEventConnectionAttemptFailed:
		f.lastConnErr = err
	case pq.ListenerEventReconnected:
		f.connected = true
		f.listening = f.listened
		f.reconnectCount++
		f.lastConnErr = nil
	}
}

// listen runs until stop: it receives notifications and feeds the local
// broker.
func (f *pgFanout) listen() {
	e := f.e
	// Listen blocks until the server acknowledges, which may take a while
	// if the database is down; Close ends the wait.
	listenResult := make(chan error, 1)
	go func() { listenResult <- f.listener.Listen(f.channel) }()
	waiting := listenResult
	ctx := context.Background()
	keepalive := time.NewTicker(30 * time.Second)
	defer keepalive.Stop()
	var pinging sync.WaitGroup
	pingDone := make(chan struct{}, 1)
	pingDone <- struct{}{} // a token: one ping at a time
	for {
		select {
		case <-f.quit:
			_ = f.listener.Close()
			// pq's goroutine ends once it can hand over what it holds.
			for range f.listener.Notify {
			}
			if waiting != nil {
				<-waiting
			}
			pinging.Wait()
			return
		case err := <-waiting:
			waiting = nil
			if err != nil {
				e.log.Error("engine: LISTEN failed; events of other processes will not reach this one", "channel", f.channel, "err", err)
				continue
			}
			f.mu.Lock()
			f.listened = true
			f.listening = f.connected // a drop since then is reported by its event
			f.mu.Unlock()
		case n := <-f.listener.Notify:
			if n == nil { // reconnected: notifications may have been missed
				f.catchUpAfterReconnect(ctx)
				continue
			}
			f.heard()
			f.relay(ctx, n.Extra)
		case <-keepalive.C:
			// Ping surfaces a silently dead connection, which then
			// reconnects. It runs beside this loop: its answer is read by
			// pq's goroutine, which may be waiting for this loop to take
			// notifications.
			select {
			case <-pingDone:
				pinging.Add(1)
				go func() {
					defer pinging.Done()
					if err := f.listener.Ping(); err != nil {
						e.log.Debug("engine: fan-out ping", "err", err)
					} else {
						f.heard()
					}
					pingDone <- struct{}{}
				}()
			default: // the last ping has not returned yet
			}
		}
	}
}

// relay hands the events a notification announces to local subscribers.
func (f *pgFanout) relay(ctx context.Context, payload string) {
	e := f.e
	p, err := parseFanoutPayload(payload)
	if err != nil {
		e.log.Warn("engine: ignoring a malformed fan-out notification", "err", err)
		return
	}
	if p.origin == f.origin {
		return // published and acted on locally after the commit
	}
	if p.cancel {
		e.cancelRunning(p.runID)
	}
	wantEvents, wantStates := e.broker.wants(p.orgID, p.runID)
	if !wantEvents && !wantStates {
		return
	}
	// One read per notification and process, whatever the number of
	// subscribers here: they share what it returns.
	orgCtx := tenant.NewContext(ctx, tenant.Viewer{OrgID: p.orgID})
	var evs []*ent.RunEvent
	if wantEvents {
		evs, err = e.client.RunEvent.Query().
			Where(runevent.RunID(p.runID), runevent.SeqGTE(p.fromSeq), runevent.SeqLTE(p.untilSeq)).
			Order(runevent.BySeq()).
			All(orgCtx)
		if err != nil {
			// The stream catches up from the table on the run's next event.
			e.log.Warn("engine: reading announced events", "run_id", p.runID, "err", err)
			return
		}
	}
	var state *ent.Run
	if wantStates {
		// The run's state now, at least as new as the notification's:
		// a newer state published already makes it stale, and it is
		// dropped.
		state, err = e.client.Run.Get(orgCtx, p.runID)
		if err != nil {
			e.log.Warn("engine: reading the state of an announced run", "run_id", p.runID, "err", err)
			state = nil
		}
	}
	e.broker.publish(evs, state)
}

// catchUpAfterReconnect pokes each local stream with its run's latest
// event and state; an event stream that missed some fills the gap from the
// table, and a state stream gets the latest state if it missed it.
func (f *pgFanout) catchUpAfterReconnect(ctx context.Context) {
	e := f.e
	f.mu.Lock()
	// A connection that died silently is only noticed later (by a ping or
	// TCP); what was missed goes back to the last sign of life. The margin
	// covers clock skew between replicas.
	since := f.lostAt
	if !f.lastHeard.IsZero() && f.lastHeard.Before(since) {
		since = f.lastHeard
	}
	since = since.Add(-5 * time.Second)
	f.mu.Unlock()
	e.recheckCancellations(ctx)
	runs, orgs := e.broker.subscribed()
	for runID, orgID := range runs {
		e.pokeWithLatest(ctx, orgID, run.ID(runID))
	}
	for orgID := range orgs {
		e.pokeWithLatest(ctx, orgID, run.UpdatedAtGTE(since))
	}
	e.log.Info("engine: fan-out reconnected; streams caught up", "runs", len(runs), "organizations", len(orgs))
}

// recheckCancellations interrupts the running steps of runs canceled while
// the notification that said so could not arrive.
func (e *Engine) recheckCancellations(ctx context.Context) {
	e.mu.Lock()
	runIDs := map[int]int{} // run → org
	for _, rs := range e.running {
		runIDs[rs.runID] = rs.orgID
	}
	e.mu.Unlock()
	for runID, orgID := range runIDs {
		r, err := e.client.Run.Query().Where(run.ID(runID)).Select(run.FieldStatus).Only(tenant.NewContext(ctx, tenant.Viewer{OrgID: orgID}))
		if err == nil && r.Status == run.StatusCANCELING {
			e.cancelRunning(runID)
		}
	}
}

func (e *Engine) pokeWithLatest(ctx context.Context, orgID int, which predicate.Run) {
	orgCtx := tenant.NewContext(ctx, tenant.Viewer{OrgID: orgID})
	runs, err := e.client.Run.Query().Where(which).All(orgCtx)
	if err != nil {
		e.log.Warn("engine: catching up after reconnect", "org_id", orgID, "err", err)
		return
	}
	for _, r := range runs {
		if r.LastSeq == 0 {
			continue
		}
		ev, err := e.client.RunEvent.Query().Where(runevent.RunID(r.ID), runevent.Seq(r.LastSeq)).Only(orgCtx)
		if err != nil {
			e.log.Warn("engine: catching up after reconnect", "run_id", r.ID, "err", err)
			continue
		}
		e.broker.publish([]*ent.RunEvent{ev}, r)
	}
}

// announce sends the notification of t's events; PostgreSQL delivers it
// when, and only if, t commits.
func (f *pgFanout) announce(t *txn) error {
	if len(t.events) == 0 {
		return nil
	}
	p := fanoutPayload{origin: f.origin, orgID: t.run.OrganizationID, runID: t.run.ID,
		fromSeq: t.events[0].Seq, untilSeq: t.events[len(t.events)-1].Seq, cancel: t.cancel}
	if _, err := t.db.ExecContext(t.ctx, "SELECT pg_notify($1, $2)", f.channel, p.String()); err != nil {
		return fmt.Errorf("engine: announcing events of run %d: %w", t.run.ID, err)
	}
	return nil
}

// ErrListenerDown is what Ready reports while the LISTEN connection is
// down.
var ErrListenerDown = errors.New("engine: not listening for other processes' events")

// EventsReady reports whether, with fan-out, the LISTEN connection is up.
func (e *Engine) EventsReady() error {
	if e.isStopped() {
		return ErrStopping
	}
	return e.fan.ready()
}

func (f *pgFanout) ready() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.listening {
		if f.lastConnErr != nil {
			return fmt.Errorf("%w: %w", ErrListenerDown, f.lastConnErr)
		}
		return ErrListenerDown
	}
	return nil
}

// FanoutReconnects counts how often the LISTEN connection was
// re-established.
func (e *Engine) FanoutReconnects() int { return e.fan.reconnects() }

func (f *pgFanout) reconnects() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reconnectCount
}
