package engine

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/estateflow/estateflow/ent"
)

// Config tunes an Engine. Zero values take the defaults noted.
type Config struct {
	// Dialect is the database's dialect (dialect.SQLite or dialect.Postgres).
	Dialect string
	// Workers bounds how many steps execute at once (default 16×GOMAXPROCS:
	// steps mostly wait on the database and other services).
	Workers int
	// DefaultMaxAttempts applies to steps that set none (default 3).
	DefaultMaxAttempts int
	// DefaultTimeout limits an attempt of a step that sets none (default 5m).
	DefaultTimeout time.Duration
	// BackoffBase and BackoffMax shape the wait between attempts
	// (defaults 1s and 5m).
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// ProgressInterval is the least time between two progress writes of one
	// step (default 250ms).
	ProgressInterval time.Duration
	// SweepInterval is how often the engine looks for retries whose timer
	// was lost (say, a claim that failed on a database error) (default 5s).
	SweepInterval time.Duration
	// ShutdownGrace is how long Stop waits for running steps before
	// interrupting them (default 30s).
	ShutdownGrace time.Duration
	// SubscriberBuffer is how many events a subscriber to one run's events
	// may fall behind before it is closed as a slow consumer (default 16:
	// progress is coalesced, so a run produces a handful of events a
	// second). A subscriber to run states falls behind by runs, not
	// events, since a run's unsent states coalesce: one run's subscriber
	// holds this many states, one organization's four times as many runs.
	SubscriberBuffer int
	// ListenDSN, a PostgreSQL connection string, turns on fan-out: events
	// committed by other processes on the same database reach this one's
	// subscribers (see fanout.go). Empty: this process sees only its own
	// events, which is all a single process needs.
	ListenDSN string
	// River, with PostgreSQL, dispatches steps as River jobs so that
	// several processes share the work (see river.go); it needs ListenDSN,
	// through which cancelRun reaches steps on other processes. Nil: the
	// in-process pool dispatches, which suits a single process.
	River *RiverConfig
	// AdmissionMaxWait bounds how long the runs in flight may take to
	// drain: past it, StartRun refuses new runs with RATE_LIMITED and a
	// Retry-After, except for organizations under their fair share (see
	// admission.go). Zero admits every run; the server's default is 30s
	// (--admission-max-wait).
	AdmissionMaxWait time.Duration
	// AdmissionFloor is how many runs may be in flight whatever the drain
	// rate, so that a quiet or just started server takes any normal load
	// (default 4×Workers).
	AdmissionFloor int
	// Retention lists the organizations whose runs' progress events are
	// compacted once the runs have finished longer ago than their
	// retention (see retention.go). Nil: nothing is compacted.
	Retention RetentionSource
	// RetentionInterval is how often the compaction runs (default 1m);
	// each time it does at most RetentionBatches transactions (default 10)
	// of RetentionBatch runs each (default 200).
	RetentionInterval time.Duration
	RetentionBatch    int
	RetentionBatches  int
	// CheckStart validates a run's subject and parameters before StartRun
	// creates it (see StartChecker). Nil: only the subject's type is checked.
	CheckStart StartChecker
	// Now is the engine's clock: the time of its transactions, retries and
	// deadlines (default time.Now). Tests inject one to let days pass; with
	// River it is also River's clock, which schedules deadline jobs.
	Now func() time.Time
	// Periodic is the source of periodic occurrences (the application's
	// schedules; see periodic.go). Nil: the engine does no periodic work.
	Periodic Periodic
	// PeriodicInterval is how often the engine ticks for periodic
	// occurrences (default 15s).
	PeriodicInterval time.Duration
	// OnEvents is called in the transaction of every change of a run's
	// state, with the events it appended (their IDs set), before it
	// commits: what it writes through db, and the outbox messages it
	// writes with Enqueue and ctx, commit with the change. An error rolls
	// the change back. The application writes its webhooks' deliveries
	// here, without the engine knowing of them.
	OnEvents func(ctx context.Context, db *ent.Client, r *ent.Run, events []*ent.RunEvent) error
	// Observer learns of runs, attempts, retries, timeouts and streams,
	// for metrics (default NopObserver).
	Observer Observer
	Logger   *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Workers <= 0 {
		c.Workers = 16 * runtime.GOMAXPROCS(0)
	}
	if c.DefaultMaxAttempts <= 0 {
		c.DefaultMaxAttempts = 3
	}
	if c.DefaultTimeout <= 0 {
		c.DefaultTimeout = 5 * time.Minute
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 5 * time.Minute
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = 250 * time.Millisecond
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = 5 * time.Second
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 30 * time.Second
	}
	if c.PeriodicInterval <= 0 {
		c.PeriodicInterval = 15 * time.Second
	}
	if c.SubscriberBuffer <= 0 {
		c.SubscriberBuffer = 16
	}
	if c.AdmissionFloor <= 0 {
		c.AdmissionFloor = 4 * c.Workers
	}
	if c.RetentionInterval <= 0 {
		c.RetentionInterval = time.Minute
	}
	if c.RetentionBatch <= 0 {
		c.RetentionBatch = 200
	}
	if c.RetentionBatches <= 0 {
		c.RetentionBatches = 10
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Observer == nil {
		c.Observer = NopObserver{}
	}
}

// Engine executes runs. Create it with New, register executors, then Start
// it; Stop it before closing the database.
type Engine struct {
	client    *ent.Client
	cfg       Config
	executors map[string]Executor
	topics    map[string]OutboxTopic // outbox handlers by topic (outbox.go)
	broker    *broker
	dispatch  dispatcher // the pool or River, chosen by New from Config.River
	// stubbedClock: Config.Now is not the wall clock (River is told).
	stubbedClock bool
	fan          fanout     // noFanout until Start listens (Config.ListenDSN)
	admission    *admission // nil: every run is admitted
	retention    *retainer  // the compaction loop; nil without Config.Retention or before Start
	log          *slog.Logger

	mu      sync.Mutex
	started bool
	stopped bool
	running map[int]*runningStep // by step run ID
	streams sync.WaitGroup       // subscription streams in flight
	quit    chan struct{}        // closed by Stop

	periodic    *loop              // ticks for periodic occurrences; nil without a source
	endPeriodic context.CancelFunc // ends the context of the ticks
}

// stepRef is a step handed to a dispatcher. A step made ready by a
// transaction is claimed (moved to RUNNING) in that same transaction and
// carries its StepContext, which saves a transaction per step; a step due
// for retry is claimed by the worker.
type stepRef struct {
	orgID, runID, stepRunID int
	claimed                 *StepContext
	timeout                 time.Duration
	// job is the River job that executes the attempt; the transaction
	// that records the attempt's outcome completes it. Nil with the pool.
	job *stepJob
	// deadline: the pool fires the deadline of a waiting step (wait.go)
	// instead of executing it.
	deadline bool
}

type runningStep struct {
	orgID, runID int
	cancel       context.CancelCauseFunc
}

// Causes given to a running step's context, to tell why it ended.
var (
	errRunCanceled = errors.New("the run was canceled")
	errShutdown    = errors.New("the engine is shutting down")
	errTimeout     = errors.New("attempt timed out")
)

// New returns an engine over client. client must be the tenant-scoped client
// (see package tenant): the engine acts as each run's organization.
func New(client *ent.Client, cfg Config) *Engine {
	stubbed := cfg.Now != nil
	cfg.setDefaults()
	e := &Engine{
		client:    client,
		cfg:       cfg,
		executors: map[string]Executor{},
		topics:    map[string]OutboxTopic{},
		broker:    newBroker(cfg.SubscriberBuffer),
		fan:       noFanout{},
		log:       cfg.Logger,
		running:   map[int]*runningStep{},
		quit:      make(chan struct{}),

		stubbedClock: stubbed,
	}
	if cfg.AdmissionMaxWait > 0 {
		e.admission = newAdmission(cfg.AdmissionMaxWait, cfg.AdmissionFloor)
	}
	if cfg.River != nil {
		e.dispatch = newRiverDispatcher(e, *cfg.River)
	} else {
		e.dispatch = newPoolDispatcher(e)
	}
	return e
}

// Register makes ex the executor of a step kind. Call it before Start.
func (e *Engine) Register(kind string, ex Executor) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.started {
		panic("engine: Register after Start")
	}
	e.executors[kind] = ex
}

// Start starts listening for other processes' events (with
// Config.ListenDSN), then the dispatcher, which recovers the runs left in
// flight by a previous process. When Start fails, it has stopped whatever
// it started, and the engine counts as stopped.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return errors.New("engine: already started")
	}
	e.started = true
	e.mu.Unlock()
	if e.cfg.River != nil && e.cfg.ListenDSN == "" {
		e.abortStart()
		return errors.New("engine: River dispatch needs ListenDSN, which carries cancellations between processes")
	}
	if e.cfg.ListenDSN != "" {
		fan, err := startFanout(ctx, e)
		if err != nil {
			e.abortStart()
			return err
		}
		e.fan = fan
	}
	if err := e.dispatch.start(ctx); err != nil {
		e.abortStart()
		return err
	}
	e.mu.Lock()
	if !e.stopped {
		e.retention = e.startRetention()
	}
	e.mu.Unlock()
	e.startPeriodic()
	return nil
}

// Stop stops taking work and waits for running steps, up to the shutdown
// grace period or ctx's deadline, whichever comes first. Steps still running
// then are interrupted and left for the next start to run again. No
// goroutine of the engine outlives Stop.
func (e *Engine) Stop(ctx context.Context) error {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return nil
	}
	e.stopped = true
	started := e.started
	retention := e.retention
	e.mu.Unlock()
	retention.stop()
	if started {
		// Fires start runs through the dispatcher: the ticks end first.
		e.stopPeriodic()
		grace, cancel := context.WithTimeout(ctx, e.cfg.ShutdownGrace)
		defer cancel()
		// The fan-out outlives the dispatcher's grace period: a cancelRun
		// on another process still reaches the steps finishing here.
		e.dispatch.stop(grace)
	}
	e.stopEvents()
	return nil
}

// abortStart ends what a failed Start had begun besides the dispatcher,
// which cleans up after itself; the engine then counts as stopped.
func (e *Engine) abortStart() {
	e.mu.Lock()
	stopped := e.stopped
	e.stopped = true
	e.mu.Unlock()
	if !stopped { // a concurrent Stop has stopped the rest
		e.stopEvents()
	}
}

// stopEvents stops the fan-out and ends every subscription stream.
func (e *Engine) stopEvents() {
	e.fan.stop()
	close(e.quit)
	e.broker.closeAll()
	e.streams.Wait()
}

// now is the engine's clock (Config.Now).
func (e *Engine) now() time.Time { return e.cfg.Now() }

func (e *Engine) isStopped() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stopped
}

// Ready reports whether the engine takes part fully: EventsReady and
// JobsReady.
func (e *Engine) Ready() error {
	if err := e.JobsReady(); err != nil {
		return err
	}
	return e.EventsReady()
}

// JobsReady reports whether the engine executes steps: it is running, and
// its dispatcher has not stopped (River's client can stop on its own).
func (e *Engine) JobsReady() error {
	if e.isStopped() {
		return ErrStopping
	}
	return e.dispatch.ready()
}

// maxTopicTimeout is the longest attempt timeout of the outbox topics. It
// bounds an outbox job on River, and so how long River waits before it
// rescues the job of a process that died delivering it: the topics' own
// timeouts, not the steps' default, which is minutes.
func (e *Engine) maxTopicTimeout() time.Duration {
	var d time.Duration
	for _, t := range e.topics {
		d = max(d, t.Timeout)
	}
	return d
}

// cancelRunning interrupts the running steps of a run being canceled.
func (e *Engine) cancelRunning(runID int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, rs := range e.running {
		if rs.runID == runID {
			rs.cancel(errRunCanceled)
		}
	}
}

// interruptRunning interrupts every running step, for the given cause.
func (e *Engine) interruptRunning(cause error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, rs := range e.running {
		rs.cancel(cause)
	}
}
