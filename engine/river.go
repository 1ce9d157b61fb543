package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivertype"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/tenant"
)

// With PostgreSQL, steps are dispatched as River jobs, so that any number
// of processes on the database share the work durably. The engine's state
// machine does not change: River only replaces the in-process pool.
//
//   - The transaction that makes a step ready (and claims it) inserts its
//     job; a step that waits for a retry gets a job scheduled for then
//     (retry.go). No job exists without its state change, and none is
//     lost with it.
//   - A job executes one attempt. The transaction that records the outcome
//     also completes the job (river.JobCompleteTx), and inserts the next
//     jobs.
//   - Attempts, backoff and permanent errors stay the engine's: a failed
//     attempt is a completed job plus a new job scheduled at the engine's
//     backoff. River's own retries only cover a job whose outcome could not
//     be written (the database was down, the process died): the attempt is
//     then executed again, as recovery does in a single process.
//   - A process that dies mid-step leaves its job running; River's rescuer
//     hands it to another process once the step's timeout has passed.
//   - cancelRun reaches a step on another process through the fan-out
//     notification of the CANCELING transaction (fanout.go).

// RiverConfig turns on River dispatch.
type RiverConfig struct {
	// DB is the database the ent client uses; River keeps its tables there.
	DB *sql.DB
	// ClientOnTx returns the ent client, with the same hooks as the
	// engine's, over a transaction, so that River's job inserts and the
	// engine's writes commit together.
	ClientOnTx func(*sql.Tx) *ent.Client
	// ListenerDSN, when set, gives River a LISTEN connection (through pgx),
	// so that jobs are picked up when inserted instead of at the next poll.
	ListenerDSN string
	// ID names this process among River's clients (default: random).
	ID string
	// Middleware is installed in River's client, around every job (the
	// application measures the jobs' latency with it).
	Middleware []rivertype.Middleware
}

// stepJobKind is River's name for a step attempt.
const stepJobKind = "estateflow_step_attempt"

// StepJobArgs is one attempt of one step, as a River job.
type StepJobArgs struct {
	OrgID     int `json:"org_id"`
	RunID     int `json:"run_id"`
	StepRunID int `json:"step_run_id"`
	// Attempt is the attempt the job executes: the claimed one for a step
	// already RUNNING, the next one for a step waiting to retry.
	Attempt int `json:"attempt"`
	// TimeoutSeconds is the step's attempt timeout, which also tells River
	// when a job whose process died may be rescued.
	TimeoutSeconds int `json:"timeout_seconds"`
	// Deadline marks the job of a waiting step's deadline (wait.go),
	// scheduled when it passes: it applies the deadline's action if the
	// step still waits in attempt Attempt.
	Deadline bool `json:"deadline,omitempty"`
	// Claimed is set on the job of a step that the transaction inserting
	// it claimed: what the attempt needs of its run and step travels with
	// the job, so that the worker reads only the dependencies' outputs,
	// not the run and its steps again. Jobs without it (retries, and jobs
	// of older versions) read them.
	Claimed *ClaimedStep `json:"claimed,omitempty"`
}

// ClaimedStep is what the job of a claimed step carries of it and of its
// run (StepJobArgs.Claimed).
type ClaimedStep struct {
	Key         string         `json:"key"`
	Kind        string         `json:"kind"`
	DependsOn   []string       `json:"depends_on,omitempty"`
	Config      map[string]any `json:"config,omitempty"`
	Params      map[string]any `json:"params,omitempty"`
	SubjectType SubjectType    `json:"subject_type,omitempty"`
	SubjectID   int            `json:"subject_id,omitempty"`
	// Timeout is the attempt's timeout, exactly, in nanoseconds
	// (TimeoutSeconds rounds it up for River).
	Timeout time.Duration `json:"timeout_ns"`
}

// claimedStep is what the job of sc's claimed attempt carries.
func claimedStep(sc *StepContext, timeout time.Duration) *ClaimedStep {
	return &ClaimedStep{
		Key: sc.StepKey, Kind: sc.Kind, DependsOn: sc.dependsOn, Config: sc.Config, Params: sc.Params,
		SubjectType: sc.Subject.Type, SubjectID: sc.Subject.ID, Timeout: timeout,
	}
}

// stepContext is the StepContext of the job's claimed attempt, without its
// inputs.
func (c *ClaimedStep) stepContext(a StepJobArgs) (*StepContext, time.Duration) {
	return &StepContext{
		OrgID: a.OrgID, RunID: a.RunID, StepRunID: a.StepRunID, StepKey: c.Key, Kind: c.Kind, Attempt: a.Attempt,
		Subject: Subject{Type: c.SubjectType, ID: c.SubjectID}, Params: c.Params, Config: c.Config, dependsOn: c.DependsOn,
	}, c.Timeout
}

// Kind implements river.JobArgs.
func (StepJobArgs) Kind() string { return stepJobKind }

// riverDispatcher dispatches steps as River jobs.
type riverDispatcher struct {
	e   *Engine
	cfg RiverConfig
	// Set by start.
	client       *river.Client[*sql.Tx]
	listenerPool *pgxpool.Pool      // nil when polling only
	endJobs      context.CancelFunc // cancels the context River works jobs in
	sweep        *loop              // of live steps without a job

	mu         sync.Mutex
	insertOnly *river.Client[*sql.Tx] // before Start (inserter)
}

// stepJob is a step attempt as River hands it to its worker.
type stepJob = river.Job[StepJobArgs]

// jobTimeoutMargin is how much longer than its step's timeout a job may
// run: the engine ends the attempt itself at the timeout, and River only
// steps in when the process is gone.
const jobTimeoutMargin = 5 * time.Second

// minRescueAfter is the least time a job must have been running before
// River may rescue it; jobs' own timeouts extend it.
const minRescueAfter = 10 * time.Second

func newRiverDispatcher(e *Engine, cfg RiverConfig) *riverDispatcher {
	return &riverDispatcher{e: e, cfg: cfg}
}

// start starts working jobs, and the sweep that gives live steps without
// a job one (river_sweep.go). River's context is the engine's own, so that
// only Stop ends the jobs.
func (d *riverDispatcher) start(ctx context.Context) error {
	if err := d.newClient(ctx); err != nil {
		return err
	}
	jobsCtx, endJobs := context.WithCancel(context.Background())
	if err := d.client.Start(jobsCtx); err != nil {
		endJobs()
		d.closeListener()
		return fmt.Errorf("engine: starting River: %w", err)
	}
	d.endJobs = endJobs
	d.sweep = startLoop(orphanSweepInterval, true, d.sweepOrphans)
	return nil
}

func (d *riverDispatcher) newClient(ctx context.Context) error {
	workers := river.NewWorkers()
	river.AddWorker(workers, &stepWorker{e: d.e})
	river.AddWorker(workers, &periodicWorker{e: d.e})
	river.AddWorker(workers, &outboxWorker{e: d.e})
	driver := riverdatabasesql.New(d.cfg.DB)
	poll := 100 * time.Millisecond
	if d.cfg.ListenerDSN != "" {
		pcfg, err := pgxpool.ParseConfig(d.cfg.ListenerDSN)
		if err != nil {
			return fmt.Errorf("engine: River listener connection string: %w", err)
		}
		pcfg.MinConns, pcfg.MaxConns = 0, 1 // River takes one connection for LISTEN
		if d.listenerPool, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
			return fmt.Errorf("engine: River listener pool: %w", err)
		}
		driver = riverdatabasesql.NewWithPgxListener(d.cfg.DB, d.listenerPool)
		poll = time.Second // notifications wake the fetcher; the poll is a fallback
	}
	client, err := river.NewClient(driver, &river.Config{
		ID:                   d.cfg.ID,
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: d.e.cfg.Workers}},
		Workers:              workers,
		FetchCooldown:        10 * time.Millisecond,
		FetchPollInterval:    poll,
		JobTimeout:           minRescueAfter,
		RescueStuckJobsAfter: minRescueAfter,
		RetryPolicy:          infraRetryPolicy{},
		Middleware:           d.cfg.Middleware,
		Logger:               d.e.log,
		// River schedules deadline jobs on the engine's clock, which
		// tests move forward by days.
		Test: river.TestConfig{Time: engineClock{d.e}},
	})
	if err != nil {
		d.closeListener()
		return fmt.Errorf("engine: River client: %w", err)
	}
	d.mu.Lock()
	d.client = client
	d.mu.Unlock()
	return nil
}

// stop stops fetching jobs and waits for running ones until grace ends;
// then it interrupts them, and River hands their jobs to another process
// (or this one's next start).
func (d *riverDispatcher) stop(grace context.Context) {
	if err := d.client.Stop(grace); err != nil {
		d.e.log.Warn("engine: steps still running at the end of the grace period; interrupting them", "err", err)
		if err := d.client.StopAndCancel(context.Background()); err != nil {
			d.e.log.Error("engine: stopping River", "err", err)
		}
	}
	d.endJobs()
	d.sweep.stop()
	d.closeListener()
}

func (d *riverDispatcher) closeListener() {
	if d.listenerPool != nil {
		d.listenerPool.Close()
	}
}

func (d *riverDispatcher) begin(ctx context.Context) (dispatchTx, error) {
	client, err := d.inserter()
	if err != nil {
		return nil, err
	}
	tx, err := d.cfg.DB.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &riverTx{d: d, tx: tx, db: d.cfg.ClientOnTx(tx), jobs: client}, nil
}

// inserter returns the River client that inserts a transaction's jobs:
// the started one, or before Start an insert-only client, so that the
// engine's transactions (Transact in a command that runs no engine) still
// commit their jobs for the processes that work them.
func (d *riverDispatcher) inserter() (*river.Client[*sql.Tx], error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client != nil {
		return d.client, nil
	}
	if d.insertOnly == nil {
		c, err := river.NewClient(riverdatabasesql.New(d.cfg.DB), &river.Config{Logger: d.e.log})
		if err != nil {
			return nil, fmt.Errorf("engine: River client: %w", err)
		}
		d.insertOnly = c
	}
	return d.insertOnly, nil
}

// afterCommit has nothing to do: the jobs were written with the
// transaction.
func (d *riverDispatcher) afterCommit(*txn) {}

// fireOccurrences has nothing to do: the occurrences' jobs were inserted
// with their claim, and fire on whichever process takes them.
func (d *riverDispatcher) fireOccurrences(context.Context, []Occurrence) {}

// outboxCommitted has nothing to do either.
func (d *riverDispatcher) outboxCommitted(*outboxBatch) {}

// ready reports an error once River's client has stopped on its own.
func (d *riverDispatcher) ready() error {
	if d.client == nil {
		return nil // not started yet: nothing has stopped
	}
	select {
	case <-d.client.Stopped():
		return errors.New("engine: the River client stopped")
	default:
		return nil
	}
}

// inputsAtClaim: a job reads its step's inputs when it runs
// (StepJobArgs.Claimed).
func (d *riverDispatcher) inputsAtClaim() bool { return false }

// riverTx is a database/sql transaction that River's inserts share with
// the engine's ent client.
type riverTx struct {
	d    *riverDispatcher
	tx   *sql.Tx
	db   *ent.Client
	jobs *river.Client[*sql.Tx] // inserts the jobs
}

func (t *riverTx) client() *ent.Client { return t.db }
func (t *riverTx) commit() error       { return t.tx.Commit() }
func (t *riverTx) rollback() error     { return t.tx.Rollback() }

func (t *riverTx) insertOccurrences(ctx context.Context, occs []Occurrence) error {
	if len(occs) == 0 {
		return nil
	}
	if _, err := t.jobs.InsertManyTx(ctx, t.tx, periodicJobParams(occs)); err != nil {
		return fmt.Errorf("engine: enqueueing %d periodic fires: %w", len(occs), err)
	}
	return nil
}

func (t *riverTx) beforeCommit(ctx context.Context, txn *txn, b *outboxBatch) error {
	if err := t.d.enqueueOutbox(ctx, t.tx, t.jobs, b); err != nil {
		return err
	}
	if txn == nil {
		return nil
	}
	if err := t.d.enqueue(ctx, t.tx, t.jobs, txn); err != nil {
		return err
	}
	if err := t.d.cancelRetryJobs(ctx, t.tx, t.jobs, txn); err != nil {
		return err
	}
	return t.d.completeJob(ctx, t.tx, txn)
}

// stepJobParams is the insert of a job for an attempt of a step of t's run;
// claimed, when the step was claimed in t.
func stepJobParams(t *txn, stepRunID, attempt int, timeout time.Duration, at time.Time, claimed *ClaimedStep) river.InsertManyParams {
	return river.InsertManyParams{
		Args: StepJobArgs{OrgID: t.run.OrganizationID, RunID: t.run.ID, StepRunID: stepRunID, Attempt: attempt,
			TimeoutSeconds: int(math.Ceil(timeout.Seconds())), Claimed: claimed},
		InsertOpts: &river.InsertOpts{ScheduledAt: at, Tags: []string{stepTag(stepRunID)}},
	}
}

// deadlineJobParams is the insert of the job of waiting step s's
// deadline, scheduled when it passes.
func deadlineJobParams(t *txn, s *ent.StepRun) river.InsertManyParams {
	return river.InsertManyParams{
		Args:       StepJobArgs{OrgID: t.run.OrganizationID, RunID: t.run.ID, StepRunID: s.ID, Attempt: s.Attempt, Deadline: true},
		InsertOpts: &river.InsertOpts{ScheduledAt: *s.DeadlineAt, Tags: []string{stepTag(s.ID)}},
	}
}

// engineClock is River's clock: the engine's (Config.Now). With the wall
// clock it tells River that time is not stubbed.
type engineClock struct{ e *Engine }

func (c engineClock) Now() time.Time { return c.e.now() }

func (c engineClock) NowOrNil() *time.Time {
	if c.e.stubbedClock {
		now := c.e.now()
		return &now
	}
	return nil
}

// stepTag marks a step's jobs, so that they can be found again.
func stepTag(stepRunID int) string { return fmt.Sprintf("step-%d", stepRunID) }

// cancelRetryJobs cancels, in t's transaction, the jobs of the retries t
// canceled: a later retryRun claims those steps afresh, and an old job must
// not run that attempt a second time. Running jobs are canceled too: a
// retry job runs early and snoozes until its step is due (retry.go), and
// one caught running would otherwise snooze again, escape this list, and
// later find the step claimed for the same attempt by retryRun. River marks
// a running job that then snoozes or fails as canceled; one that completes
// completes.
func (d *riverDispatcher) cancelRetryJobs(ctx context.Context, tx *sql.Tx, client *river.Client[*sql.Tx], t *txn) error {
	for _, stepRunID := range t.canceledRetries {
		jobs, err := client.JobListTx(ctx, tx, river.NewJobListParams().Kinds(stepJobKind).
			States(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStatePending,
				rivertype.JobStateRunning).
			TagsAll(stepTag(stepRunID)).First(100))
		if err != nil {
			return fmt.Errorf("engine: finding the jobs of step %d: %w", stepRunID, err)
		}
		for _, job := range jobs.Jobs {
			if _, err := client.JobCancelTx(ctx, tx, job.ID); err != nil {
				return fmt.Errorf("engine: canceling job %d of step %d: %w", job.ID, stepRunID, err)
			}
		}
	}
	return nil
}

// enqueue inserts the jobs of the steps t claimed or scheduled for retry,
// in t's transaction.
func (d *riverDispatcher) enqueue(ctx context.Context, tx *sql.Tx, client *river.Client[*sql.Tx], t *txn) error {
	if len(t.dispatch) == 0 && len(t.retries) == 0 && len(t.deadlines) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, 0, len(t.dispatch)+len(t.retries)+len(t.deadlines))
	for _, ref := range t.dispatch {
		params = append(params, stepJobParams(t, ref.stepRunID, ref.claimed.Attempt, ref.timeout, time.Time{}, claimedStep(ref.claimed, ref.timeout)))
	}
	for _, s := range t.retries {
		params = append(params, stepJobParams(t, s.ID, s.Attempt+1, d.e.stepTimeout(s), retryJobAt(s.NextAttemptAt, t.now), nil))
	}
	for _, s := range t.deadlines {
		params = append(params, deadlineJobParams(t, s))
	}
	if _, err := client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("engine: enqueueing steps of run %d: %w", t.run.ID, err)
	}
	return nil
}

// completeJob completes, in t's transaction, the job whose attempt t
// records, so that the job ends exactly when its outcome is written.
func (d *riverDispatcher) completeJob(ctx context.Context, tx *sql.Tx, t *txn) error {
	if t.job == nil {
		return nil
	}
	if _, err := river.JobCompleteTx[*riverdatabasesql.Driver](ctx, tx, t.job); err != nil {
		return fmt.Errorf("engine: completing job %d: %w", t.job.ID, err)
	}
	return nil
}

// stepWorker executes step jobs.
type stepWorker struct {
	river.WorkerDefaults[StepJobArgs]
	e *Engine
}

// Timeout lets River end a job whose attempt outlived its step's timeout,
// and tells the rescuer how long to leave a job of a dead process alone.
func (w *stepWorker) Timeout(job *stepJob) time.Duration {
	return time.Duration(job.Args.TimeoutSeconds)*time.Second + jobTimeoutMargin
}

// Work executes the job's attempt. Database writes use a context that the
// job's cancellation does not reach, so that an interrupted attempt can
// still record why it ended.
func (w *stepWorker) Work(ctx context.Context, job *stepJob) error {
	e, a := w.e, job.Args
	dbCtx := tenant.NewContext(context.WithoutCancel(ctx), tenant.Viewer{OrgID: a.OrgID})
	// The job travels with the step, and the transaction that records the
	// attempt's outcome completes it.
	ref := stepRef{orgID: a.OrgID, runID: a.RunID, stepRunID: a.StepRunID, job: job}
	if a.Deadline {
		// Applied in a transaction that completes the job; a step decided
		// meanwhile leaves nothing to do.
		err := e.expireDeadline(dbCtx, ref, a.Attempt)
		if snooze, early := snoozeIfEarly(err); early {
			return snooze
		}
		if errors.Is(err, errSkip) {
			return nil
		}
		return err
	}
	var (
		sc      *StepContext
		timeout time.Duration
		err     error
	)
	if a.Claimed != nil {
		// Whether the attempt is still the step's is read once the step
		// is registered as running (Engine.attempt).
		sc, timeout = a.Claimed.stepContext(a)
		err = readInputs(dbCtx, e.client, sc)
	} else {
		sc, timeout, err = e.claimForJob(dbCtx, ref, a.Attempt)
	}
	if snooze, early := snoozeIfEarly(err); early {
		return snooze
	}
	if errors.Is(err, errSkip) {
		return nil // finished, canceled or taken over meanwhile: nothing to do
	}
	if err != nil {
		return fmt.Errorf("engine: claiming step %d: %w", a.StepRunID, err)
	}
	stepCtx, cancelStep := context.WithCancelCause(dbCtx)
	defer cancelStep(nil)
	// River cancels ctx when it stops (shutdown) or the job times out: the
	// attempt then ends as it would in the pool.
	stop := context.AfterFunc(ctx, func() { cancelStep(errShutdown) })
	defer stop()
	switch e.attempt(dbCtx, stepCtx, cancelStep, ref, sc, timeout) {
	case attemptInterrupted:
		// Returning the context's error makes River put the job back
		// without counting it; another process resumes the attempt. When
		// only the engine is stopping, a snooze does the same.
		if err := ctx.Err(); err != nil {
			return err
		}
		return river.JobSnooze(0)
	case attemptUnrecorded:
		// River retries the job, which executes the attempt again.
		return fmt.Errorf("engine: the outcome of step %d, attempt %d, could not be written", a.StepRunID, a.Attempt)
	}
	return nil
}

// claimForJob returns the StepContext of the job's attempt: the step was
// claimed by the transaction that made it ready, or is due for a retry and
// is claimed now.
func (e *Engine) claimForJob(ctx context.Context, ref stepRef, attempt int) (*StepContext, time.Duration, error) {
	// Most jobs find their step claimed already; plain reads, without the
	// run's lock, suffice to see that and gather the step's inputs, which
	// no longer change once the step runs.
	r, err := e.client.Run.Get(ctx, ref.runID)
	if ent.IsNotFound(err) {
		return nil, 0, errSkip
	}
	if err != nil {
		return nil, 0, err
	}
	steps, err := e.client.StepRun.Query().Where(steprun.RunID(ref.runID)).Select(stepColumns()...).All(ctx)
	if err != nil {
		return nil, 0, err
	}
	read := &txn{ctx: ctx, db: e.client, run: r, steps: steps}
	if i := read.stepIndex(ref.stepRunID); i >= 0 && steps[i].Status == steprun.StatusRUNNING && steps[i].Attempt == attempt {
		sc, err := e.stepContext(read, i)
		if err != nil {
			return nil, 0, err
		}
		return sc, e.stepTimeout(steps[i]), nil
	}
	var (
		sc      *StepContext
		timeout time.Duration
	)
	_, err = e.inRun(ctx, ref.runID, func(t *txn) error {
		i := t.stepIndex(ref.stepRunID)
		if i < 0 {
			return errSkip
		}
		s := t.steps[i]
		switch {
		case s.Status == steprun.StatusRUNNING && s.Attempt == attempt:
			var err error
			if sc, err = e.stepContext(t, i); err != nil {
				return err
			}
			timeout = e.stepTimeout(s)
			return errResume
		case s.Status == steprun.StatusRETRYING && s.Attempt+1 == attempt && t.run.Status == run.StatusRUNNING && allSucceeded(s, t.statusByKey()):
			if err := earlyRetry(s, t.now); err != nil {
				return err
			}
			var err error
			sc, timeout, err = e.claimInTxn(t, i)
			return err
		}
		return errSkip
	})
	if errors.Is(err, errResume) {
		err = nil
	}
	return sc, timeout, err
}

// errResume ends a transaction that only read: the step is already claimed.
var errResume = errors.New("engine: step already claimed")
