package engine

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/tenant"
)

// Admission control: StartRun refuses a run, with RATE_LIMITED and a
// Retry-After, when the runs already in flight would take the workers
// longer than Config.AdmissionMaxWait to drain, instead of accepting runs
// that would wait minutes.
//
// The backlog and the drain rate come from the database, so that on
// PostgreSQL every replica sees the whole cluster's: the runs in flight
// (QUEUED, RUNNING, CANCELING) per organization, and the runs finished over
// the last minute (or since this engine started, when that is shorter). The
// budget is what drains within the bound, rate × AdmissionMaxWait, but
// never less than Config.AdmissionFloor runs, so that a quiet or just
// started server takes any normal load. Past the budget, an organization
// is still admitted while it holds less than its fair share of it (the
// budget divided among the organizations with runs in flight): one
// brokerage's bulk schedule cannot starve another's single run. The pool
// also takes ready steps from the organizations in turn (pool.go).
//
// Starts the system owes (a trigger's event, a schedule's occurrence,
// StartRequest.Accepted) are admitted whatever the backlog: refusing them
// would lose work that was accepted when its event committed.
type admission struct {
	maxWait time.Duration
	floor   int
	started time.Time

	mu   sync.Mutex
	snap admissionSnapshot
}

// admissionSnapshot is the backlog as last read, with the starts admitted
// since added in.
type admissionSnapshot struct {
	read     time.Time
	active   map[int]int // runs in flight by organization
	total    int
	finished int           // runs finished within window
	window   time.Duration // the span finished counts over
}

// admissionRefresh is how long a snapshot of the backlog serves.
const admissionRefresh = 250 * time.Millisecond

// admissionWindow is the span over which the drain rate is measured.
const admissionWindow = time.Minute

func newAdmission(maxWait time.Duration, floor int) *admission {
	return &admission{maxWait: maxWait, floor: floor, started: time.Now()}
}

// AdmissionState is what the admission decided from, for tests and logs.
type AdmissionState struct {
	InFlight    int     // runs in flight, all organizations
	OrgInFlight int     // runs in flight of the asking organization
	Orgs        int     // organizations with runs in flight, the asking one counted
	Rate        float64 // runs finished per second lately
	Budget      int     // runs in flight that drain within the bound
}

// admit decides on a new run of the viewer's organization. It counts an
// admitted run into the backlog at once, so that a burst between two reads
// of the database is bounded too. An accepted start (StartRequest.Accepted)
// is counted and never refused.
func (e *Engine) admit(ctx context.Context, accepted bool) error {
	a := e.admission
	if a == nil {
		return nil
	}
	v, ok := tenant.FromContext(ctx)
	if !ok {
		return nil // the system starts no runs of its own here; the caller is checked elsewhere
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if time.Since(a.snap.read) >= admissionRefresh {
		snap, err := e.readBacklog(ctx)
		if err != nil {
			return err
		}
		a.snap = snap
	}
	st := a.state(v.OrgID)
	if accepted || st.InFlight < st.Budget || st.OrgInFlight < st.Budget/st.Orgs {
		a.snap.active[v.OrgID]++
		a.snap.total++
		return nil
	}
	e.cfg.Observer.StartRefused(v.OrgID)
	wait := a.retryAfter(st)
	why := fmt.Sprintf("more than its workers finish within %s", a.maxWait)
	if st.Rate <= 0 {
		why = "and none has finished lately to measure how fast they drain"
	}
	return &Error{
		Code:       errcode.RateLimited,
		RetryAfter: wait,
		Message: fmt.Sprintf("the server is at capacity: %d runs are in flight (%d of them this organization's), %s; retry after %d seconds",
			st.InFlight, st.OrgInFlight, why, int(wait/time.Second)),
	}
}

// state is the admission's view of the backlog for an organization.
func (a *admission) state(orgID int) AdmissionState {
	st := AdmissionState{InFlight: a.snap.total, OrgInFlight: a.snap.active[orgID]}
	for _, n := range a.snap.active {
		if n > 0 {
			st.Orgs++
		}
	}
	if st.OrgInFlight == 0 {
		st.Orgs++
	}
	if a.snap.window > 0 {
		st.Rate = float64(a.snap.finished) / a.snap.window.Seconds()
	}
	st.Budget = max(a.floor, int(st.Rate*a.maxWait.Seconds()))
	return st
}

// unknownRateRetry is the Retry-After while no run has finished within the
// window (a server that just started, or whose runs all take long): the
// drain rate is unknown, so clients are asked to come back soon rather
// than after the whole bound. A just-started server drains its floor of
// runs in seconds; telling every client to wait 30 s left it idle.
const unknownRateRetry = 2 * time.Second

// retryAfter is when the organization's excess over its share will have
// drained at the current rate: at least a second, at most the bound.
func (a *admission) retryAfter(st AdmissionState) time.Duration {
	bound := time.Duration(math.Ceil(a.maxWait.Seconds())) * time.Second
	if st.Rate <= 0 {
		return max(min(unknownRateRetry, bound), time.Second)
	}
	excess := min(st.InFlight-st.Budget, st.OrgInFlight-st.Budget/st.Orgs) + 1
	secs := math.Ceil(float64(max(excess, 1)) / st.Rate)
	return min(time.Duration(max(secs, 1))*time.Second, max(bound, time.Second))
}

// readBacklog counts the runs in flight by organization and the runs
// finished within the window, over every organization.
func (e *Engine) readBacklog(ctx context.Context) (admissionSnapshot, error) {
	ctx = tenant.SystemContext(ctx)
	now := time.Now()
	snap := admissionSnapshot{read: now, active: map[int]int{}}
	var counts []struct {
		OrgID int `json:"organization_id"`
		Count int `json:"count"`
	}
	err := e.client.Run.Query().
		Where(run.StatusIn(run.StatusQUEUED, run.StatusRUNNING, run.StatusCANCELING)).
		GroupBy(run.FieldOrganizationID).
		Aggregate(ent.Count()).
		Scan(ctx, &counts)
	if err != nil {
		return snap, fmt.Errorf("engine: admission: counting runs in flight: %w", err)
	}
	for _, c := range counts {
		snap.active[c.OrgID] = c.Count
		snap.total += c.Count
	}
	snap.window = min(admissionWindow, max(now.Sub(e.admission.started), 5*time.Second))
	snap.finished, err = e.client.Run.Query().Where(run.FinishedAtGT(now.Add(-snap.window))).Count(ctx)
	if err != nil {
		return snap, fmt.Errorf("engine: admission: counting runs finished: %w", err)
	}
	return snap, nil
}
