package report

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/emailmessage"
	"github.com/estateflow/estateflow/ent/leadscorerecord"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/scheduledpost"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/ent/task"
	"github.com/estateflow/estateflow/modules"
)

// ErrNotFound is returned by Load for a run that does not exist or that
// belongs to another organization: the two are not told apart.
var ErrNotFound = errors.New("run not found")

// Load assembles run id's report through client, which must be scoped to the
// viewer's organization (ent privacy filters every query). It makes five
// queries whatever the number of steps: the run with its steps, package
// and subject, then the posts, emails, tasks and lead scores it wrote.
func Load(ctx context.Context, client *ent.Client, id int, now time.Time) (*Report, error) {
	rn, err := client.Run.Query().
		Where(run.ID(id)).
		WithSteps(func(q *ent.StepRunQuery) { q.Order(steprun.ByPosition(), steprun.ByID()) }).
		WithPackage().
		WithProperty().
		WithClient().
		Only(ctx)
	if ent.IsNotFound(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("report: loading run %d: %w", id, err)
	}
	rep := &Report{Run: newRun(rn), Steps: make([]Step, 0, len(rn.Edges.Steps)), GeneratedAt: now.UTC()}
	for _, s := range rn.Edges.Steps {
		step, err := newStep(s)
		if err != nil {
			return nil, err
		}
		rep.Steps = append(rep.Steps, step)
	}
	if rep.Effects, err = loadEffects(ctx, client, id); err != nil {
		return nil, err
	}
	return rep, nil
}

func loadEffects(ctx context.Context, client *ent.Client, runID int) (Effects, error) {
	out := Effects{ScheduledPosts: []ScheduledPost{}, Emails: []Email{}, Tasks: []Task{}, LeadScores: []LeadScore{}}
	posts, err := client.ScheduledPost.Query().Where(scheduledpost.RunID(runID)).
		Order(scheduledpost.ByScheduledAt(), scheduledpost.ByID()).All(ctx)
	if err != nil {
		return out, fmt.Errorf("report: loading run %d's posts: %w", runID, err)
	}
	for _, p := range posts {
		out.ScheduledPosts = append(out.ScheduledPosts, ScheduledPost{
			ID: idString(p.ID), StepKey: deref(p.StepKey), Platform: p.Platform.String(),
			ScheduledAt: p.ScheduledAt.UTC(), Status: p.Status.String(), Text: p.Text,
		})
	}
	emails, err := client.EmailMessage.Query().Where(emailmessage.RunID(runID)).
		Order(emailmessage.ByScheduledAt(), emailmessage.ByID()).All(ctx)
	if err != nil {
		return out, fmt.Errorf("report: loading run %d's emails: %w", runID, err)
	}
	for _, m := range emails {
		out.Emails = append(out.Emails, Email{
			ID: idString(m.ID), StepKey: deref(m.StepKey), ClientID: idString(m.ClientID), To: m.To,
			Subject: m.Subject, Body: m.Body, ScheduledAt: m.ScheduledAt.UTC(), Status: m.Status.String(),
		})
	}
	tasks, err := client.Task.Query().Where(task.RunID(runID)).Order(task.ByDueAt(), task.ByID()).All(ctx)
	if err != nil {
		return out, fmt.Errorf("report: loading run %d's tasks: %w", runID, err)
	}
	for _, t := range tasks {
		out.Tasks = append(out.Tasks, Task{
			ID: idString(t.ID), StepKey: deref(t.StepKey), ClientID: idString(t.ClientID), Type: t.Type.String(),
			Title: t.Title, Notes: t.Notes, DueAt: t.DueAt.UTC(), Status: t.Status.String(),
		})
	}
	scores, err := client.LeadScoreRecord.Query().Where(leadscorerecord.RunID(runID)).
		Order(leadscorerecord.ByScoredAt(), leadscorerecord.ByID()).All(ctx)
	if err != nil {
		return out, fmt.Errorf("report: loading run %d's lead scores: %w", runID, err)
	}
	for _, s := range scores {
		out.LeadScores = append(out.LeadScores, LeadScore{
			ID: idString(s.ID), StepKey: deref(s.StepKey), ClientID: idString(s.ClientID),
			Score: s.Score, Tier: s.Tier.String(), ScoredAt: s.ScoredAt.UTC(),
		})
	}
	return out, nil
}

func newRun(rn *ent.Run) Run {
	params := rn.Params
	if params == nil {
		params = map[string]any{}
	}
	out := Run{
		ID:             idString(rn.ID),
		Package:        Package{ID: idString(rn.PackageID), Version: rn.PackageVersion},
		Params:         params,
		Status:         rn.Status.String(),
		Progress:       rn.Progress,
		IdempotencyKey: rn.IdempotencyKey,
		Error:          rn.Error,
		CreatedAt:      rn.CreatedAt.UTC(),
		StartedAt:      utc(rn.StartedAt),
		FinishedAt:     utc(rn.FinishedAt),
	}
	if p := rn.Edges.Package; p != nil {
		out.Package.Key, out.Package.Name = p.Key, p.Name
	}
	if p := rn.Edges.Property; p != nil {
		out.Property = &Property{
			ID: idString(p.ID), Address: p.Address, City: p.City, State: p.State, Zip: p.Zip,
			PropertyType: p.PropertyType.String(), Beds: p.Beds, Baths: p.Baths, Sqft: p.Sqft,
			YearBuilt: p.YearBuilt, ListPrice: p.ListPrice, Status: p.Status.String(),
		}
	}
	if c := rn.Edges.Client; c != nil {
		out.Client = &Client{ID: idString(c.ID), Name: c.Name}
	}
	return out
}

func newStep(s *ent.StepRun) (Step, error) {
	dependsOn := s.DependsOn
	if dependsOn == nil {
		dependsOn = []string{}
	}
	out := Step{
		ID: idString(s.ID), Key: s.Key, Name: s.Name, Kind: string(s.Kind), DependsOn: dependsOn,
		Position: s.Position, Status: s.Status.String(), Attempts: s.Attempt, Progress: s.Progress,
		Message: s.Message, Error: s.Error, StartedAt: utc(s.StartedAt), FinishedAt: utc(s.FinishedAt),
	}
	if s.StartedAt != nil && s.FinishedAt != nil {
		d := s.FinishedAt.Sub(*s.StartedAt).Seconds()
		out.DurationSeconds = &d
	}
	output, err := modules.DecodeOutput(s)
	if err != nil {
		return Step{}, err
	}
	out.Output = output
	out.Summary = summarize(out)
	return out, nil
}

func idString(id int) string { return strconv.Itoa(id) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
