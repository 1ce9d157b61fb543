package automation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/organization"
	"github.com/estateflow/estateflow/ent/schedule"
	"github.com/estateflow/estateflow/ent/schema/schedulespec"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/workflowpackage"
)

// Missed occurrences. An occurrence is on time when it is claimed within
// onTimeGrace of its time; the engine ticks far more often than that. One
// claimed later was missed (the server was down, or busy for minutes):
//
//   - SKIP fires no missed occurrence: after downtime, the schedule waits
//     for its next occurrence.
//   - RUN_ONCE fires the latest missed occurrence once, if it is no older
//     than the schedule's catch-up window (as Temporal's catchup window),
//     and skips the earlier ones.
//
// Either way the skipped ones are counted in the outcome.
const onTimeGrace = 2 * time.Minute

// pendingLease is how long a claimed occurrence is left to its fire before
// another tick claims it again (the fire is idempotent).
const pendingLease = 5 * time.Minute

// maxClaim bounds the schedules one tick claims; the next tick takes the
// rest.
const maxClaim = 100

// lookbackCap bounds how far back a claim counts missed occurrences: no
// policy runs one older than the longest catch-up window.
const lookbackCap = 32 * 24 * time.Hour

// Schedules is the engine's periodic source for the organizations'
// schedules. Create it with NewSchedules and Bind it to the engine before
// the engine starts.
type Schedules struct {
	client *ent.Client
	start  Starter
	now    func() time.Time
	log    *slog.Logger
}

// NewSchedules returns the source over client (the tenant-scoped client).
func NewSchedules(client *ent.Client, log *slog.Logger) *Schedules {
	if log == nil {
		log = slog.Default()
	}
	return &Schedules{client: client, log: log}
}

// Bind gives the source the engine's StartRun and clock; call it before
// the engine starts ticking.
func (s *Schedules) Bind(start Starter, now func() time.Time) { s.start, s.now = start, now }

var _ engine.Periodic = (*Schedules)(nil)

// Claim implements engine.Periodic: it claims the due occurrences of every
// organization's schedules, in db's transaction. The rows are locked (on
// PostgreSQL FOR UPDATE SKIP LOCKED: a replica claiming at the same time
// passes over them; SQLite's write transactions are serialized), and each
// claimed schedule's next fire time moves past now, so no other claim finds
// the occurrence again.
func (s *Schedules) Claim(ctx context.Context, db *ent.Client, now time.Time) ([]engine.Occurrence, error) {
	now = now.UTC()
	due, err := db.Schedule.Query().
		Where(schedule.Or(
			schedule.And(schedule.Paused(false), schedule.NextFireAtNotNil(), schedule.NextFireAtLTE(now)),
			schedule.And(schedule.PendingFireAtNotNil(), schedule.PendingLeaseUntilLTE(now)),
		), lockSkipLocked).
		Order(schedule.ByID()).Limit(maxClaim).
		All(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading due schedules: %w", err)
	}
	var occs []engine.Occurrence
	for _, sc := range due {
		o, ok, err := s.claimOne(ctx, db, sc, now)
		if err != nil {
			return nil, err
		}
		if ok {
			occs = append(occs, o)
		}
	}
	return occs, nil
}

// lockSkipLocked locks the selected rows on PostgreSQL, skipping those
// another transaction holds. Only the selector knows the dialect.
func lockSkipLocked(sel *entsql.Selector) {
	if sel.Dialect() == dialect.Postgres {
		sel.ForUpdate(entsql.WithLockAction(entsql.SkipLocked))
	}
}

// claimOne claims what is due of one schedule: an occurrence whose fire
// did not finish within its lease, or the occurrences since the cursor.
func (s *Schedules) claimOne(ctx context.Context, db *ent.Client, sc *ent.Schedule, now time.Time) (engine.Occurrence, bool, error) {
	// Update().Where, not UpdateOneID: on the River transaction's client,
	// UpdateOne would begin a transaction of its own, which then waits for
	// the row this one has locked.
	upd := db.Schedule.Update().Where(schedule.ID(sc.ID))
	if sc.PendingFireAt != nil && sc.PendingLeaseUntil != nil && !sc.PendingLeaseUntil.After(now) {
		// Claimed before and not fired to the end (a crash): claim again.
		if err := upd.SetPendingLeaseUntil(now.Add(pendingLease)).Exec(ctx); err != nil {
			return engine.Occurrence{}, false, fmt.Errorf("reclaiming schedule %d: %w", sc.ID, err)
		}
		return occurrence(sc, *sc.PendingFireAt, 0), true, nil
	}
	if sc.Paused || sc.NextFireAt == nil || sc.NextFireAt.After(now) {
		return engine.Occurrence{}, false, nil
	}
	loc, c, err := s.cronOf(ctx, db, sc)
	if err != nil {
		// A schedule that can no longer be read (its zone or expression
		// became invalid) is paused with the reason, not retried forever.
		s.log.Error("automation: pausing a schedule that cannot be evaluated", "schedule", sc.ID, "err", err)
		msg := err.Error()
		return engine.Occurrence{}, false, upd.SetPaused(true).ClearNextFireAt().
			SetLastOutcome(&schedulespec.Outcome{OccurrenceAt: *sc.NextFireAt, Errors: []string{"paused: " + msg}}).Exec(ctx)
	}
	from := *sc.NextFireAt
	missed := 0
	if now.Sub(from) > lookbackCap {
		from = c.Next(now.Add(-lookbackCap), loc)
		missed++ // at least the cursor's own
	}
	latest, n := from, 0
	for t := from; !t.IsZero() && !t.After(now); t = c.Next(t, loc) {
		latest, n = t, n+1
	}
	limit := onTimeGrace
	if sc.MissedPolicy == schedule.MissedPolicyRUN_ONCE {
		limit = max(limit, time.Duration(sc.CatchUpWindowSeconds)*time.Second)
	}
	fire := n > 0 && now.Sub(latest) <= limit
	missed += n
	if fire {
		missed--
	}
	next := c.Next(now, loc)
	if next.IsZero() {
		upd.ClearNextFireAt()
	} else {
		upd.SetNextFireAt(next.UTC())
	}
	if !fire {
		// Nothing runs: the outcome says how many occurrences were passed over.
		upd.SetLastOutcome(&schedulespec.Outcome{OccurrenceAt: latest.UTC(), Errors: []string{}, SkippedOccurrences: missed})
		return engine.Occurrence{}, false, upd.Exec(ctx)
	}
	if err := upd.SetPendingFireAt(latest.UTC()).SetPendingLeaseUntil(now.Add(pendingLease)).Exec(ctx); err != nil {
		return engine.Occurrence{}, false, fmt.Errorf("claiming schedule %d: %w", sc.ID, err)
	}
	return occurrence(sc, latest, missed), true, nil
}

func occurrence(sc *ent.Schedule, at time.Time, missed int) engine.Occurrence {
	at = at.UTC()
	return engine.Occurrence{Key: "schedule:" + strconv.Itoa(sc.ID) + ":" + at.Format(time.RFC3339),
		OrgID: sc.OrganizationID, At: at, Ref: sc.ID, Missed: missed}
}

// cronOf parses the schedule's expression and loads its organization's
// time zone.
func (s *Schedules) cronOf(ctx context.Context, db *ent.Client, sc *ent.Schedule) (*time.Location, Cron, error) {
	org, err := db.Organization.Query().Where(organization.ID(sc.OrganizationID)).Only(ctx)
	if err != nil {
		return nil, Cron{}, fmt.Errorf("reading the organization of schedule %d: %w", sc.ID, err)
	}
	loc, err := time.LoadLocation(org.Timezone)
	if err != nil {
		return nil, Cron{}, fmt.Errorf("the organization's time zone %q: %w", org.Timezone, err)
	}
	c, err := ParseCron(sc.Cron)
	return loc, c, err
}

// RunKey is the idempotency key of the run an occurrence starts for a
// record: the same occurrence and record always give the same key, so a
// repeated fire finds the run instead of starting another.
func RunKey(scheduleID int, at time.Time, subject stepkind.Subject, recordID int) string {
	return fmt.Sprintf("schedule:%d:%s:%s:%d", scheduleID, at.UTC().Format(time.RFC3339), subject, recordID)
}

// Fire implements engine.Periodic: it starts one run of the schedule's
// package per record its filter chooses, then records the outcome. ctx
// acts for the schedule's organization.
func (s *Schedules) Fire(ctx context.Context, o engine.Occurrence) error {
	if s.start == nil {
		return errors.New("automation: schedules not bound to an engine")
	}
	sc, err := s.client.Schedule.Get(ctx, o.Ref)
	if ent.IsNotFound(err) {
		return nil // deleted since the claim
	}
	if err != nil {
		return fmt.Errorf("reading schedule %d: %w", o.Ref, err)
	}
	out := schedulespec.Outcome{OccurrenceAt: o.At, Errors: []string{}, SkippedOccurrences: o.Missed}
	if sc.Paused {
		out.Errors = append(out.Errors, "the schedule was paused before the occurrence fired: nothing started")
		return s.record(ctx, sc.ID, o.At, out, false)
	}
	pkg, err := s.client.WorkflowPackage.Query().Where(workflowpackage.Key(sc.PackageKey)).Only(ctx)
	switch {
	case ent.IsNotFound(err):
		out.Errors = append(out.Errors, fmt.Sprintf("package %q no longer exists: nothing started", sc.PackageKey))
		return s.record(ctx, sc.ID, o.At, out, true)
	case err != nil:
		return fmt.Errorf("reading package %q: %w", sc.PackageKey, err)
	case pkg.Archived:
		out.Errors = append(out.Errors, fmt.Sprintf("package %q is archived: nothing started", sc.PackageKey))
		return s.record(ctx, sc.ID, o.At, out, true)
	case sc.PackageVersion != nil && *sc.PackageVersion != pkg.Version:
		out.Errors = append(out.Errors, fmt.Sprintf("the schedule is pinned to version %d of %q, which is now at version %d: nothing started",
			*sc.PackageVersion, sc.PackageKey, pkg.Version))
		return s.record(ctx, sc.ID, o.At, out, true)
	}
	ids, err := SelectRecords(ctx, s.client, pkg.Subject, sc.RecordFilter)
	if err != nil {
		return err
	}
	out.Matched = len(ids)
	for _, id := range ids {
		key := RunKey(sc.ID, o.At, pkg.Subject, id)
		// The occurrence's runs are owed: they queue behind the backlog
		// rather than being refused for capacity.
		req := engine.StartRequest{PackageID: pkg.ID, Params: sc.Params, IdempotencyKey: &key, Accepted: true}
		what := "property"
		if pkg.Subject == stepkind.SubjectClient {
			req.ClientID, what = &id, "client"
		} else {
			req.PropertyID = &id
		}
		_, err := s.start.StartRun(ctx, req)
		var refusal *engine.Error
		switch {
		case err == nil:
			out.RunsStarted++
		case errors.As(err, &refusal):
			out.Errors = append(out.Errors, fmt.Sprintf("%s %d: %s", what, id, refusal.Message))
		default:
			// The database failed: the fire is retried, and the runs
			// already started are found again by their keys.
			return fmt.Errorf("starting a run for %s %d: %w", what, id, err)
		}
	}
	return s.record(ctx, sc.ID, o.At, out, true)
}

// record stores the outcome of the occurrence at, unless a later one is
// recorded already, and ends its claim.
func (s *Schedules) record(ctx context.Context, id int, at time.Time, out schedulespec.Outcome, fired bool) error {
	tx, err := s.client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("recording schedule %d: %w", id, err)
	}
	db := tx.Client()
	sc, err := db.Schedule.Query().Where(schedule.ID(id), lockRow).Only(ctx)
	if err != nil {
		_ = tx.Rollback()
		if ent.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("recording schedule %d: %w", id, err)
	}
	upd := db.Schedule.UpdateOneID(id)
	if sc.PendingFireAt != nil && sc.PendingFireAt.Equal(at) {
		upd.ClearPendingFireAt().ClearPendingLeaseUntil()
	}
	if sc.LastFireAt == nil || !sc.LastFireAt.After(at) {
		if fired {
			firedAt := s.now().UTC()
			out.FiredAt = &firedAt
			upd.SetLastFireAt(at)
		}
		upd.SetLastOutcome(&out)
	}
	if err := upd.Exec(ctx); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("recording schedule %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("recording schedule %d: %w", id, err)
	}
	return nil
}

// lockRow locks the selected row on PostgreSQL until the transaction ends.
func lockRow(sel *entsql.Selector) {
	if sel.Dialect() == dialect.Postgres {
		sel.ForUpdate()
	}
}
