package automation

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/packagestep"
	"github.com/estateflow/estateflow/ent/schedule"
	"github.com/estateflow/estateflow/ent/schema/schedulespec"
	"github.com/estateflow/estateflow/ent/workflowpackage"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/modules"
	"github.com/estateflow/estateflow/tenant"
)

// ScheduleInput is a schedule as created, or the changes to one (nil
// fields stay as they are).
type ScheduleInput struct {
	Name                 *string
	Cron                 *string
	PackageKey           *string
	PackageVersion       *int
	ClearPackageVersion  bool
	Filter               *schedulespec.Filter
	Params               map[string]any
	MissedPolicy         *schedule.MissedPolicy
	CatchUpWindowSeconds *int
	Paused               *bool
}

// Catch-up window bounds, in seconds (the schema's range).
const (
	minCatchUp = 60
	maxCatchUp = 31 * 86400
)

func badInput(field, format string, args ...any) error {
	return &engine.Error{Code: errcode.BadUserInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Location returns the time zone of the viewer's organization.
func Location(ctx context.Context, db *ent.Client) (*time.Location, error) {
	v, ok := tenant.FromContext(ctx)
	if !ok {
		return nil, fmt.Errorf("automation: no viewer")
	}
	org, err := db.Organization.Get(ctx, v.OrgID)
	if err != nil {
		return nil, fmt.Errorf("reading the organization: %w", err)
	}
	loc, err := time.LoadLocation(org.Timezone)
	if err != nil {
		return nil, fmt.Errorf("the organization's time zone %q: %w", org.Timezone, err)
	}
	return loc, nil
}

// CreateSchedule validates in and creates the schedule, for the viewer's
// organization, with its first fire time after now.
func CreateSchedule(ctx context.Context, db *ent.Client, in ScheduleInput, now time.Time) (*ent.Schedule, error) {
	if in.Name == nil || in.Cron == nil || in.PackageKey == nil {
		return nil, badInput("input", "name, cron and packageKey are required")
	}
	if in.Filter == nil {
		in.Filter = &schedulespec.Filter{}
	}
	if in.Params == nil {
		in.Params = map[string]any{}
	}
	c, err := checkSchedule(ctx, db, in, *in.Cron, *in.PackageKey, in.PackageVersion, *in.Filter, in.Params)
	if err != nil {
		return nil, err
	}
	create := db.Schedule.Create().SetName(strings.TrimSpace(*in.Name)).SetCron(strings.TrimSpace(*in.Cron)).
		SetPackageKey(*in.PackageKey).SetNillablePackageVersion(in.PackageVersion).
		SetRecordFilter(*in.Filter).SetParams(in.Params).
		SetNillableMissedPolicy(in.MissedPolicy).SetNillableCatchUpWindowSeconds(in.CatchUpWindowSeconds)
	if in.Paused != nil && *in.Paused {
		create.SetPaused(true)
	} else {
		next, err := nextAfter(ctx, db, c, now)
		if err != nil {
			return nil, err
		}
		create.SetNillableNextFireAt(next)
	}
	return create.Save(ctx)
}

// UpdateSchedule validates the changes and applies them. A new cron
// expression takes effect from now: its first fire time is the next one
// after now.
func UpdateSchedule(ctx context.Context, db *ent.Client, id int, in ScheduleInput, now time.Time) (*ent.Schedule, error) {
	sc, err := Get(ctx, db, id)
	if err != nil {
		return nil, err
	}
	cronExpr, key, version, filter, params := sc.Cron, sc.PackageKey, sc.PackageVersion, sc.RecordFilter, sc.Params
	if in.Cron != nil {
		cronExpr = strings.TrimSpace(*in.Cron)
	}
	if in.PackageKey != nil {
		key = *in.PackageKey
	}
	if in.ClearPackageVersion {
		version = nil
	}
	if in.PackageVersion != nil {
		version = in.PackageVersion
	}
	if in.Filter != nil {
		filter = *in.Filter
	}
	if in.Params != nil {
		params = in.Params
	}
	c, err := checkSchedule(ctx, db, in, cronExpr, key, version, filter, params)
	if err != nil {
		return nil, err
	}
	upd := db.Schedule.UpdateOneID(id).SetCron(cronExpr).SetPackageKey(key).SetRecordFilter(filter).SetParams(params).
		SetNillableMissedPolicy(in.MissedPolicy).SetNillableCatchUpWindowSeconds(in.CatchUpWindowSeconds)
	if in.Name != nil {
		upd.SetName(strings.TrimSpace(*in.Name))
	}
	if version == nil {
		upd.ClearPackageVersion()
	} else {
		upd.SetPackageVersion(*version)
	}
	if in.Cron != nil && !sc.Paused {
		next, err := nextAfter(ctx, db, c, now)
		if err != nil {
			return nil, err
		}
		if next == nil {
			upd.ClearNextFireAt()
		} else {
			upd.SetNextFireAt(*next)
		}
	}
	return upd.Save(ctx)
}

// PauseSchedule stops the schedule from firing.
func PauseSchedule(ctx context.Context, db *ent.Client, id int) (*ent.Schedule, error) {
	if _, err := Get(ctx, db, id); err != nil {
		return nil, err
	}
	return db.Schedule.UpdateOneID(id).SetPaused(true).ClearNextFireAt().Save(ctx)
}

// ResumeSchedule fires the schedule again from its next fire time after
// now: occurrences while it was paused are not run.
func ResumeSchedule(ctx context.Context, db *ent.Client, id int, now time.Time) (*ent.Schedule, error) {
	sc, err := Get(ctx, db, id)
	if err != nil {
		return nil, err
	}
	if !sc.Paused {
		return sc, nil
	}
	c, err := ParseCron(sc.Cron)
	if err != nil {
		return nil, badInput("id", "schedule %d: %v", id, err)
	}
	next, err := nextAfter(ctx, db, c, now)
	if err != nil {
		return nil, err
	}
	upd := db.Schedule.UpdateOneID(id).SetPaused(false)
	if next != nil {
		upd.SetNextFireAt(*next)
	}
	return upd.Save(ctx)
}

// DeleteSchedule deletes the schedule. Runs it started stay.
func DeleteSchedule(ctx context.Context, db *ent.Client, id int) error {
	if _, err := Get(ctx, db, id); err != nil {
		return err
	}
	return db.Schedule.DeleteOneID(id).Exec(ctx)
}

// Get returns the viewer organization's schedule, or NOT_FOUND (another
// organization's schedule is filtered out by the privacy rules, and gets the
// same answer as an unknown ID).
func Get(ctx context.Context, db *ent.Client, id int) (*ent.Schedule, error) {
	sc, err := db.Schedule.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, &engine.Error{Code: errcode.NotFound, Field: "id", Message: fmt.Sprintf("schedule %d not found", id)}
	}
	return sc, err
}

// NextFireTimes returns up to n fire times of the schedule after now; none
// while it is paused.
func NextFireTimes(ctx context.Context, db *ent.Client, sc *ent.Schedule, now time.Time, n int) ([]time.Time, error) {
	if sc.Paused {
		return []time.Time{}, nil
	}
	c, err := ParseCron(sc.Cron)
	if err != nil {
		return nil, err
	}
	loc, err := Location(ctx, db)
	if err != nil {
		return nil, err
	}
	from := now
	if sc.NextFireAt != nil && sc.NextFireAt.Before(from) {
		// Due and not yet claimed: it comes first.
		from = sc.NextFireAt.Add(-time.Nanosecond)
	}
	return c.NextN(from, loc, n), nil
}

func nextAfter(ctx context.Context, db *ent.Client, c Cron, now time.Time) (*time.Time, error) {
	loc, err := Location(ctx, db)
	if err != nil {
		return nil, err
	}
	next := c.Next(now, loc)
	if next.IsZero() {
		return nil, nil
	}
	next = next.UTC()
	return &next, nil
}

// checkSchedule validates a schedule as it would be saved and returns its
// parsed expression.
func checkSchedule(ctx context.Context, db *ent.Client, in ScheduleInput, cronExpr, key string, version *int,
	filter schedulespec.Filter, params map[string]any) (Cron, error) {
	c, err := ParseCron(cronExpr)
	if err != nil {
		return Cron{}, badInput("input.cron", "%v", err)
	}
	if in.Name != nil && strings.TrimSpace(*in.Name) == "" {
		return Cron{}, badInput("input.name", "name must not be blank")
	}
	if w := in.CatchUpWindowSeconds; w != nil && (*w < minCatchUp || *w > maxCatchUp) {
		return Cron{}, badInput("input.catchUpWindowSeconds", "catchUpWindowSeconds must be %d to %d, got %d", minCatchUp, maxCatchUp, *w)
	}
	pkg, err := db.WorkflowPackage.Query().Where(workflowpackage.Key(key)).
		WithSteps(func(q *ent.PackageStepQuery) { q.Order(packagestep.ByPosition()) }).Only(ctx)
	if ent.IsNotFound(err) {
		return Cron{}, badInput("input.packageKey", "no package %q in the organization", key)
	}
	if err != nil {
		return Cron{}, fmt.Errorf("reading package %q: %w", key, err)
	}
	if pkg.Archived {
		return Cron{}, badInput("input.packageKey", "package %q is archived", key)
	}
	if version != nil && *version != pkg.Version {
		return Cron{}, badInput("input.packageVersion", "package %q is at version %d; only the current version can be pinned (older versions are not kept)", key, pkg.Version)
	}
	if err := CheckFilter(pkg.Subject, filter); err != nil {
		return Cron{}, err
	}
	kinds := make([]string, len(pkg.Edges.Steps))
	for i, s := range pkg.Edges.Steps {
		kinds[i] = string(s.Kind)
	}
	if err := modules.CheckParams(kinds, params); err != nil {
		return Cron{}, err
	}
	return c, nil
}
