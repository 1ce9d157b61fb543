package engine

import (
	"context"
	"errors"
	"fmt"
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
	// SubscriberBuffer is how many events a subscriber to one run may fall
	// behind before it is closed as a slow consumer (default 16: progress is
	// coalesced, so a run produces a handful of events a second).
	// Subscribers to a whole organization get four times as much.
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
	// CheckStart validates a run's subject and parameters before StartRun
	// creates it (see StartChecker). Nil: only the subject's type is checked.
	CheckStart StartChecker
	Logger     *slog.Logger
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
	if c.SubscriberBuffer <= 0 {
		c.SubscriberBuffer = 16
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Engine executes runs. Create it with New, register executors, then Start
// it; Stop it before closing the database.
type Engine struct {
	client    *ent.Client
	cfg       Config
	executors map[string]Executor
	broker    *broker
	pool      *pool
	fan       *fanout        // nil without fan-out; set by Start before any work
	river     *riverDispatch // nil with the pool; set by Start before any work
	riverStop context.CancelFunc
	log       *slog.Logger

	mu      sync.Mutex
	started bool
	stopped bool
	running map[int]*runningStep // by step run ID
	timers  map[int]*time.Timer  // retry timers by step run ID
	work    sync.WaitGroup       // retry timers and subscription streams in flight
	quit    chan struct{}        // closed by Stop
}

// stepRef is a step handed to the pool. A step made ready by a transaction
// is claimed (moved to RUNNING) in that same transaction and carries its
// StepContext, which saves a transaction per step; a step due for retry is
// claimed by the worker.
type stepRef struct {
	orgID, runID, stepRunID int
	claimed                 *StepContext
	timeout                 time.Duration
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
	cfg.setDefaults()
	e := &Engine{
		client:    client,
		cfg:       cfg,
		executors: map[string]Executor{},
		broker:    newBroker(cfg.SubscriberBuffer),
		log:       cfg.Logger,
		running:   map[int]*runningStep{},
		timers:    map[int]*time.Timer{},
		quit:      make(chan struct{}),
	}
	e.pool = newPool(cfg.Workers, e.execute)
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

// Start recovers the runs left in flight by a previous process and starts
// the workers.
func (e *Engine) Start(ctx context.Context) error {
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return errors.New("engine: already started")
	}
	e.started = true
	e.mu.Unlock()
	if e.cfg.River != nil && e.cfg.ListenDSN == "" {
		return errors.New("engine: River dispatch needs ListenDSN, which carries cancellations between processes")
	}
	if err := e.startFanout(ctx); err != nil {
		return err
	}
	if e.cfg.River != nil {
		if err := e.startRiver(ctx); err != nil {
			e.abortStart()
			return err
		}
		return nil
	}
	e.pool.start()
	if err := e.recover(ctx); err != nil {
		return fmt.Errorf("engine: recovering runs: %w", err)
	}
	e.work.Add(1)
	go e.sweepOverdueRetries()
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
	for id, tm := range e.timers {
		if tm.Stop() {
			e.work.Done() // the timer's function will never run
		}
		delete(e.timers, id)
	}
	e.mu.Unlock()

	grace, cancel := context.WithTimeout(ctx, e.cfg.ShutdownGrace)
	defer cancel()
	if e.river != nil {
		e.stopRiver(grace)
		close(e.quit)
		e.broker.closeAll()
		e.work.Wait()
		e.river.close()
		return nil
	}
	e.pool.close() // workers finish their current step, then exit
	drained := make(chan struct{})
	go func() { e.pool.wait(); close(drained) }()
	select {
	case <-drained:
	case <-grace.Done():
		e.mu.Lock()
		for _, rs := range e.running {
			rs.cancel(errShutdown)
		}
		e.mu.Unlock()
		<-drained
	}
	close(e.quit)
	e.broker.closeAll()
	e.work.Wait()
	return nil
}

// abortStart ends what a failed Start had begun (the fan-out listener);
// the engine then counts as stopped.
func (e *Engine) abortStart() {
	e.mu.Lock()
	e.stopped = true
	e.mu.Unlock()
	close(e.quit)
	e.work.Wait()
}

func (e *Engine) isStopped() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stopped
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

// scheduleRetry submits a step again when its backoff has passed.
func (e *Engine) scheduleRetry(ref stepRef, at time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return // the retry is durable: the next start schedules it
	}
	if old, ok := e.timers[ref.stepRunID]; ok && old.Stop() {
		e.work.Done()
	}
	e.work.Add(1)
	e.timers[ref.stepRunID] = time.AfterFunc(time.Until(at), func() {
		defer e.work.Done()
		e.mu.Lock()
		delete(e.timers, ref.stepRunID)
		e.mu.Unlock()
		e.pool.submit(ref)
	})
}

func (e *Engine) stopRetryTimer(stepRunID int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if tm, ok := e.timers[stepRunID]; ok {
		if tm.Stop() {
			e.work.Done()
		}
		delete(e.timers, stepRunID)
	}
}
