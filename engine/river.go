package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
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
//     job; a step that waits for a retry gets a job scheduled for then. No
//     job exists without its state change, and none is lost with it.
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
}

// schedulerLead is how long before a retry is due its job is scheduled:
// River's scheduler promotes scheduled jobs every 5 s, and the job snoozes
// the rest of the way, which River times precisely.
const schedulerLead = 5 * time.Second

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
}

// Kind implements river.JobArgs.
func (StepJobArgs) Kind() string { return stepJobKind }

// riverDispatch is the engine's River side.
type riverDispatch struct {
	cfg          RiverConfig
	client       *river.Client[*sql.Tx]
	listenerPool *pgxpool.Pool // nil when polling only
}

// jobTimeoutMargin is how much longer than its step's timeout a job may
// run: the engine ends the attempt itself at the timeout, and River only
// steps in when the process is gone.
const jobTimeoutMargin = 5 * time.Second

// minRescueAfter is the least time a job must have been running before
// River may rescue it; jobs' own timeouts extend it.
const minRescueAfter = 10 * time.Second

func (e *Engine) newRiver(ctx context.Context) (*riverDispatch, error) {
	rc := *e.cfg.River
	workers := river.NewWorkers()
	river.AddWorker(workers, &stepWorker{e: e})
	d := &riverDispatch{cfg: rc}
	driver := riverdatabasesql.New(rc.DB)
	poll := 100 * time.Millisecond
	if rc.ListenerDSN != "" {
		pcfg, err := pgxpool.ParseConfig(rc.ListenerDSN)
		if err != nil {
			return nil, fmt.Errorf("engine: River listener connection string: %w", err)
		}
		pcfg.MinConns, pcfg.MaxConns = 0, 1 // River takes one connection for LISTEN
		if d.listenerPool, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
			return nil, fmt.Errorf("engine: River listener pool: %w", err)
		}
		driver = riverdatabasesql.NewWithPgxListener(rc.DB, d.listenerPool)
		poll = time.Second // notifications wake the fetcher; the poll is a fallback
	}
	client, err := river.NewClient(driver, &river.Config{
		ID:                   rc.ID,
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: e.cfg.Workers}},
		Workers:              workers,
		FetchCooldown:        10 * time.Millisecond,
		FetchPollInterval:    poll,
		JobTimeout:           minRescueAfter,
		RescueStuckJobsAfter: minRescueAfter,
		RetryPolicy:          infraRetryPolicy{},
		Logger:               e.log,
	})
	if err != nil {
		d.close()
		return nil, fmt.Errorf("engine: River client: %w", err)
	}
	d.client = client
	return d, nil
}

// startRiver starts working jobs. River's context is the engine's own, so
// that only Stop ends the jobs.
func (e *Engine) startRiver(ctx context.Context) error {
	d, err := e.newRiver(ctx)
	if err != nil {
		return err
	}
	// Set before River starts: its workers read them.
	runCtx, cancel := context.WithCancel(context.Background())
	e.river, e.riverStop = d, cancel
	if err := d.client.Start(runCtx); err != nil {
		cancel()
		d.close()
		e.river, e.riverStop = nil, nil
		return fmt.Errorf("engine: starting River: %w", err)
	}
	e.work.Add(1)
	go e.sweepOrphans()
	return nil
}

// stopRiver stops fetching jobs and waits for running ones until grace
// ends; then it interrupts them, and River hands their jobs to another
// process (or this one's next start).
func (e *Engine) stopRiver(grace context.Context) {
	if err := e.river.client.Stop(grace); err != nil {
		e.log.Warn("engine: steps still running at the end of the grace period; interrupting them", "err", err)
		if err := e.river.client.StopAndCancel(context.Background()); err != nil {
			e.log.Error("engine: stopping River", "err", err)
		}
	}
	e.riverStop()
}

func (d *riverDispatch) close() {
	if d.listenerPool != nil {
		d.listenerPool.Close()
	}
}

// infraRetryPolicy spaces out re-executions of a job whose outcome could not
// be written; the engine's own retries never go through it.
type infraRetryPolicy struct{}

func (infraRetryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	wait := time.Duration(math.Min(30, math.Pow(2, float64(len(job.Errors))))) * time.Second
	return time.Now().Add(wait)
}

// stepJob is the job args for a step of t's run.
func (e *Engine) stepJob(t *txn, stepRunID, attempt int, timeout time.Duration, at time.Time) river.InsertManyParams {
	return river.InsertManyParams{
		Args: StepJobArgs{OrgID: t.run.OrganizationID, RunID: t.run.ID, StepRunID: stepRunID, Attempt: attempt,
			TimeoutSeconds: int(math.Ceil(timeout.Seconds()))},
		InsertOpts: &river.InsertOpts{ScheduledAt: at, Tags: []string{stepTag(stepRunID)}},
	}
}

// stepTag marks a step's jobs, so that they can be found again.
func stepTag(stepRunID int) string { return fmt.Sprintf("step-%d", stepRunID) }

// cancelRetryJobs cancels, in t's transaction, the queued jobs of the
// retries t canceled: a later retryRun claims those steps afresh, and an
// old job must not run that attempt a second time.
func (e *Engine) cancelRetryJobs(ctx context.Context, tx *sql.Tx, t *txn) error {
	for _, stepRunID := range t.canceledRetries {
		jobs, err := e.river.client.JobListTx(ctx, tx, river.NewJobListParams().Kinds(stepJobKind).
			States(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStatePending).
			TagsAll(stepTag(stepRunID)).First(100))
		if err != nil {
			return fmt.Errorf("engine: finding the jobs of step %d: %w", stepRunID, err)
		}
		for _, job := range jobs.Jobs {
			if _, err := e.river.client.JobCancelTx(ctx, tx, job.ID); err != nil {
				return fmt.Errorf("engine: canceling job %d of step %d: %w", job.ID, stepRunID, err)
			}
		}
	}
	return nil
}

// enqueue inserts the jobs of the steps t made ready or scheduled for
// retry, in t's transaction.
func (e *Engine) enqueue(ctx context.Context, tx *sql.Tx, t *txn) error {
	if len(t.dispatch) == 0 && len(t.retries) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, 0, len(t.dispatch)+len(t.retries))
	for _, ref := range t.dispatch {
		params = append(params, e.stepJob(t, ref.stepRunID, ref.claimed.Attempt, ref.timeout, time.Time{}))
	}
	for _, s := range t.retries {
		// River promotes scheduled jobs only every few seconds; a job
		// scheduled that much early snoozes for the rest, to the moment.
		at := s.NextAttemptAt.Add(-schedulerLead)
		if !at.After(t.now) {
			at = time.Time{}
		}
		params = append(params, e.stepJob(t, s.ID, s.Attempt+1, e.stepTimeout(s), at))
	}
	if _, err := e.river.client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("engine: enqueueing steps of run %d: %w", t.run.ID, err)
	}
	return nil
}

func (e *Engine) stepTimeout(s *ent.StepRun) time.Duration {
	if s.TimeoutSeconds != nil {
		return time.Duration(*s.TimeoutSeconds) * time.Second
	}
	return e.cfg.DefaultTimeout
}

// stepWorker executes step jobs.
type stepWorker struct {
	river.WorkerDefaults[StepJobArgs]
	e *Engine
}

// Timeout lets River end a job whose attempt outlived its step's timeout,
// and tells the rescuer how long to leave a job of a dead process alone.
func (w *stepWorker) Timeout(job *river.Job[StepJobArgs]) time.Duration {
	return time.Duration(job.Args.TimeoutSeconds)*time.Second + jobTimeoutMargin
}

type riverJobKey struct{}

// Work executes the job's attempt. Database writes use a context that the
// job's cancellation does not reach, so that an interrupted attempt can
// still record why it ended.
func (w *stepWorker) Work(ctx context.Context, job *river.Job[StepJobArgs]) error {
	e, a := w.e, job.Args
	dbCtx := context.WithValue(tenant.NewContext(context.WithoutCancel(ctx), tenant.Viewer{OrgID: a.OrgID}), riverJobKey{}, job)
	ref := stepRef{orgID: a.OrgID, runID: a.RunID, stepRunID: a.StepRunID}
	sc, timeout, err := e.claimForJob(dbCtx, ref, a.Attempt)
	var early notDueError
	if errors.As(err, &early) {
		return river.JobSnooze(time.Duration(early))
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
	steps, err := e.client.StepRun.Query().Where(steprun.RunID(ref.runID)).All(ctx)
	if err != nil {
		return nil, 0, err
	}
	read := &txn{run: r, steps: steps}
	if i := read.stepIndex(ref.stepRunID); i >= 0 && steps[i].Status == steprun.StatusRUNNING && steps[i].Attempt == attempt {
		return e.stepContext(read, i), e.stepTimeout(steps[i]), nil
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
			sc, timeout = e.stepContext(t, i), e.stepTimeout(s)
			return errResume
		case s.Status == steprun.StatusRETRYING && s.Attempt+1 == attempt && t.run.Status == run.StatusRUNNING && allSucceeded(s, t.statusByKey()):
			if s.NextAttemptAt != nil {
				if wait := s.NextAttemptAt.Sub(t.now); wait > 10*time.Millisecond {
					return notDueError(wait)
				}
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

// notDueError ends a transaction that found its retry early by the
// duration it carries.
type notDueError time.Duration

func (e notDueError) Error() string { return fmt.Sprintf("engine: retry due in %s", time.Duration(e)) }

// errResume ends a transaction that only read: the step is already claimed.
var errResume = errors.New("engine: step already claimed")

// completeJob completes the River job of ctx, if any, in t's transaction.
func (e *Engine) completeJob(ctx context.Context, tx *sql.Tx, t *txn) error {
	if !t.completesJob {
		return nil
	}
	job, ok := ctx.Value(riverJobKey{}).(*river.Job[StepJobArgs])
	if !ok {
		return nil
	}
	if _, err := river.JobCompleteTx[*riverdatabasesql.Driver](ctx, tx, job); err != nil {
		return fmt.Errorf("engine: completing job %d: %w", job.ID, err)
	}
	return nil
}
