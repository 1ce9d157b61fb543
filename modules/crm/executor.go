package crm

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/contact"
	"github.com/estateflow/estateflow/ent/interaction"
	"github.com/estateflow/estateflow/ent/leadscorerecord"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/task"
	"github.com/estateflow/estateflow/modules/spec"
	"github.com/estateflow/estateflow/modules/webhooks"
)

// ScoringExecutor runs LEAD_SCORING on the run's client.
type ScoringExecutor struct {
	Client *ent.Client
	Now    func() time.Time
}

// Module describes the CRM step kinds.
func Module() spec.Module {
	return spec.Module{
		Name: "crm",
		Kinds: []spec.StepKind{
			{
				Kind:        stepkind.LeadScoring,
				Subject:     stepkind.SubjectClient,
				NewOutput:   func() spec.StepOutput { return &LeadScore{} },
				NewExecutor: func(d spec.Deps) engine.Executor { return ScoringExecutor{Client: d.Client, Now: d.Now} },
			},
			{
				// It takes a lead tier from its inputs when one is there
				// (TierFor), else the client's stored tier: it requires no kind.
				Kind:        stepkind.FollowUpScheduling,
				Subject:     stepkind.SubjectClient,
				NewOutput:   func() spec.StepOutput { return &FollowUpPlan{} },
				NewExecutor: func(d spec.Deps) engine.Executor { return FollowUpExecutor{Client: d.Client, Now: d.Now} },
			},
		},
	}
}

// engagementWindow bounds the interactions read: older ones weigh under 1%.
const engagementWindow = 365 * 24 * time.Hour

// Execute implements engine.Executor.
func (x ScoringExecutor) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	if sc.Subject.Type != engine.SubjectClient {
		return nil, engine.Permanent(errors.New("lead scoring needs a client as the run's subject"))
	}
	now := x.Now().UTC()
	c, err := x.Client.Contact.Query().Where(contact.ID(sc.Subject.ID)).
		WithInteractions(func(q *ent.InteractionQuery) { q.Where(interaction.AtGTE(now.Add(-engagementWindow))) }).
		Only(ctx)
	if ent.IsNotFound(err) {
		return nil, engine.Permanent(fmt.Errorf("client %d no longer exists", sc.Subject.ID))
	}
	if err != nil {
		return nil, err
	}
	sc.Progress(0.3, fmt.Sprintf("read %d interactions", len(c.Edges.Interactions)))
	matches, err := matchingListings(ctx, x.Client, c)
	if err != nil {
		return nil, err
	}
	lead := Lead{
		ID: c.ID, Source: string(c.Source), Stage: string(c.Stage), PreApproved: c.PreApproved, MoveTimeline: c.MoveTimeline,
		BudgetMin: c.BudgetMin, BudgetMax: c.BudgetMax, CreatedAt: c.CreatedAt, LastContactedAt: c.LastContactedAt,
		MatchingListings: matches,
	}
	for _, in := range c.Edges.Interactions {
		lead.Interactions = append(lead.Interactions, Interaction{Type: string(in.Type), At: in.At})
	}
	score := Score(lead, now)
	sc.AddEffect(func(ctx context.Context, db *ent.Client) error { return storeScore(ctx, db, sc, score) })
	return &score, nil
}

// storeScore writes the score on the client and in its history, once per
// run and step.
func storeScore(ctx context.Context, db *ent.Client, sc *engine.StepContext, s LeadScore) error {
	factors := make([]map[string]any, len(s.Factors))
	for i, f := range s.Factors {
		factors[i] = map[string]any{"factor": f.Factor, "value": f.Value, "points": f.Points, "maxPoints": f.MaxPoints, "reason": f.Reason}
	}
	err := db.LeadScoreRecord.Create().
		SetClientID(s.ClientID).SetScore(s.Score).SetTier(leadscorerecord.Tier(s.Tier)).SetFactors(factors).
		SetScoredAt(s.ScoredAt).SetRunID(sc.RunID).SetStepKey(sc.StepKey).
		OnConflictColumns(leadscorerecord.FieldRunID, leadscorerecord.FieldStepKey).DoNothing().
		Exec(ctx)
	// With DO NOTHING, a record this run and step already wrote (the step
	// re-executed after a crash) is reported as no row.
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("recording lead score: %w", err)
	}
	// Only a newer score replaces the client's current one.
	_, err = db.Contact.Update().
		Where(contact.ID(s.ClientID), contact.Or(contact.ScoredAtIsNil(), contact.ScoredAtLTE(s.ScoredAt))).
		SetLeadScore(s.Score).SetLeadTier(contact.LeadTier(s.Tier)).SetScoredAt(s.ScoredAt).
		Save(ctx)
	return err
}

// matchingListings counts the active listings that fit the client.
func matchingListings(ctx context.Context, db *ent.Client, c *ent.Contact) (int, error) {
	if c.BudgetMax == nil {
		return 0, nil
	}
	n, err := db.Property.Query().Where(listingFit(c)...).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("counting matching listings: %w", err)
	}
	return n, nil
}

// FollowUpExecutor runs FOLLOW_UP_SCHEDULING: it plans the client's
// follow-ups by tier and creates them as CRM tasks.
type FollowUpExecutor struct {
	Client *ent.Client
	Now    func() time.Time
}

// Execute implements engine.Executor.
func (x FollowUpExecutor) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	c, loc, err := LoadClient(ctx, x.Client, sc)
	if err != nil {
		return nil, err
	}
	now := x.Now()
	in, err := followUpInput(ctx, x.Client, sc, c, now)
	if err != nil {
		return nil, err
	}
	plan := PlanFollowUps(in, now, loc)
	open, err := OpenDeal(ctx, x.Client, c.ID)
	if err != nil {
		return nil, err
	}
	if open != nil {
		plan.TransactionID = &open.ID
		plan.Reason += fmt.Sprintf("; linked to transaction %d (%s)", open.ID, open.Stage)
	}
	if plan.Superseded, err = PlanTaskSupersession(ctx, x.Client, c.ID, sc.RunID); err != nil {
		return nil, err
	}
	if s := DescribeSupersession("follow-ups", plan.Superseded); s != "" {
		plan.Reason += "; " + s
	}
	sc.AddEffect(func(ctx context.Context, db *ent.Client) error {
		if err := SupersedeTasks(ctx, db, plan.ClientID, sc.RunID, plan.Superseded); err != nil {
			return err
		}
		return createTasks(ctx, db, sc, plan)
	})
	return &plan, nil
}

// followUpInput gathers what the tasks' notes say: the run that plans
// them, the score, the last touch, the client's wishes and best listings.
func followUpInput(ctx context.Context, db *ent.Client, sc *engine.StepContext, c *ent.Contact, now time.Time) (FollowUpInput, error) {
	in := FollowUpInput{
		ClientID: c.ID, Name: c.Name, Tier: TierFor(c, sc.Inputs), Score: ScoreFor(c, sc.Inputs), SMSOptIn: c.SmsOptIn,
		Wishes: Wishes{BudgetMin: c.BudgetMin, BudgetMax: c.BudgetMax, Beds: c.DesiredBeds, Areas: c.PreferredAreas,
			MoveTimeline: c.MoveTimeline, PreApproved: c.PreApproved},
	}
	if c.Phone != nil {
		in.Phone = strings.TrimSpace(*c.Phone)
	}
	if c.Email != nil {
		in.Email = strings.TrimSpace(*c.Email)
	}
	in.Trigger = fmt.Sprintf("run %d (step %q)", sc.RunID, sc.StepKey)
	r, err := db.Run.Query().Where(run.ID(sc.RunID)).WithPackage().Only(ctx)
	switch {
	case err == nil && r.Edges.Package != nil:
		in.Trigger = fmt.Sprintf("%s run %d (step %q)", r.Edges.Package.Name, sc.RunID, sc.StepKey)
	case err != nil && !ent.IsNotFound(err):
		return in, fmt.Errorf("reading run %d: %w", sc.RunID, err)
	}
	last, err := c.QueryInteractions().Order(interaction.ByAt(entsql.OrderDesc())).First(ctx)
	switch {
	case err == nil:
		in.LastInteraction = &Interaction{Type: string(last.Type), At: last.At}
	case !ent.IsNotFound(err):
		return in, fmt.Errorf("reading the client's last interaction: %w", err)
	}
	valued, err := c.QueryInteractions().
		Where(interaction.TypeEQ(interaction.TypeVALUATION_REQUEST), interaction.AtGTE(now.Add(-valuationWindow))).
		Order(interaction.ByAt(entsql.OrderDesc())).First(ctx)
	switch {
	case err == nil:
		in.ValuationRequestedAt = &valued.At
	case !ent.IsNotFound(err):
		return in, fmt.Errorf("reading the client's valuation requests: %w", err)
	}
	if in.Matches, err = MatchListings(ctx, db, c, 3); err != nil {
		return in, err
	}
	return in, nil
}

// createTasks writes the plan's tasks, each keyed by run, step and place
// in the plan, so that a re-executed step creates none twice, and the
// TASK_CREATED webhooks of those it did create.
func createTasks(ctx context.Context, db *ent.Client, sc *engine.StepContext, plan FollowUpPlan) error {
	var created []int
	for i, t := range plan.Tasks {
		id, err := db.Task.Create().
			SetClientID(plan.ClientID).SetType(task.Type(t.Type)).SetTitle(t.Title).SetNotes(t.Notes).SetDueAt(t.DueAt).
			SetNillableTransactionID(plan.TransactionID).
			SetRunID(sc.RunID).SetStepKey(sc.StepKey).SetPlanIndex(i).
			OnConflictColumns(task.FieldRunID, task.FieldStepKey, task.FieldPlanIndex).DoNothing().
			ID(ctx)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			// Written by an earlier execution of the step.
		case err != nil:
			return fmt.Errorf("creating follow-up task %d: %w", i, err)
		default:
			created = append(created, id)
		}
	}
	return webhooks.TasksCreated(ctx, db, created)
}

// LoadClient reads the run's client with its organization, and the
// organization's time zone, in which client-facing work is scheduled.
func LoadClient(ctx context.Context, db *ent.Client, sc *engine.StepContext) (*ent.Contact, *time.Location, error) {
	if sc.Subject.Type != engine.SubjectClient {
		return nil, nil, engine.Permanent(fmt.Errorf("%s needs a client as the run's subject", sc.Kind))
	}
	c, err := db.Contact.Query().Where(contact.ID(sc.Subject.ID)).WithOrganization().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil, engine.Permanent(fmt.Errorf("client %d no longer exists", sc.Subject.ID))
	}
	if err != nil {
		return nil, nil, err
	}
	loc, err := time.LoadLocation(c.Edges.Organization.Timezone)
	if err != nil {
		return nil, nil, engine.Permanent(fmt.Errorf("the organization's time zone %q: %w", c.Edges.Organization.Timezone, err))
	}
	return c, loc, nil
}

// ScoreFor is the client's lead score: from a LEAD_SCORING output among
// the step's inputs, else the one stored on the client (which the run's
// own scoring step, committed before this step started, wrote); nil when
// the client was never scored.
func ScoreFor(c *ent.Contact, inputs map[string]map[string]any) *int {
	for _, out := range inputs {
		_, scored := out["factors"]
		if s, ok := out["score"].(float64); ok && scored {
			return new(int(s))
		}
	}
	return c.LeadScore
}

// TierFor is the client's lead tier: from a score among the step's inputs
// (the freshest), else the one stored on the client, else COLD.
func TierFor(c *ent.Contact, inputs map[string]map[string]any) string {
	for _, out := range inputs {
		if t, ok := out["tier"].(string); ok {
			return t
		}
	}
	if c.LeadTier != nil {
		return string(*c.LeadTier)
	}
	return TierCold
}
