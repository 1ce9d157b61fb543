package marketing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/contact"
	"github.com/estateflow/estateflow/ent/emailmessage"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/modules/crm"
)

// Register registers the marketing step kinds with the engine.
func Register(e *engine.Engine, client *ent.Client) {
	e.Register(string(stepkind.EmailSequence), EmailExecutor{Client: client, Now: time.Now})
	e.Register(string(stepkind.SocialTargeting), TargetingExecutor{Client: client})
}

// loadClient reads the run's client with its organization.
func loadClient(ctx context.Context, db *ent.Client, sc *engine.StepContext) (*ent.Contact, error) {
	if sc.Subject.Type != "CLIENT" {
		return nil, engine.Permanent(fmt.Errorf("%s needs a client as the run's subject", sc.Kind))
	}
	c, err := db.Contact.Query().Where(contact.ID(sc.Subject.ID)).WithOrganization().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, engine.Permanent(fmt.Errorf("client %d no longer exists", sc.Subject.ID))
	}
	return c, err
}

// tierOf takes the tier from a score among the inputs, else the client's.
func tierOf(c *ent.Contact, inputs map[string]map[string]any) string {
	tier := crm.TierCold
	if c.LeadTier != nil {
		tier = string(*c.LeadTier)
	}
	for _, out := range inputs {
		if t, ok := out["tier"].(string); ok {
			tier = t
		}
	}
	return tier
}

// EmailExecutor runs EMAIL_SEQUENCE.
type EmailExecutor struct {
	Client *ent.Client
	Now    func() time.Time
}

// Execute implements engine.Executor.
func (x EmailExecutor) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	c, err := loadClient(ctx, x.Client, sc)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(c.Edges.Organization.Timezone)
	if err != nil {
		return nil, engine.Permanent(fmt.Errorf("the organization's time zone %q: %w", c.Edges.Organization.Timezone, err))
	}
	listings, err := crm.MatchListings(ctx, x.Client, c, 3)
	if err != nil {
		return nil, err
	}
	r := Recipient{ClientID: c.ID, Name: c.Name, EmailOptIn: c.EmailOptIn, Areas: c.PreferredAreas,
		DesiredBeds: c.DesiredBeds, BudgetMax: c.BudgetMax, Tier: tierOf(c, sc.Inputs)}
	if c.Email != nil {
		r.Email = *c.Email
	}
	seq := PlanEmails(r, listings, x.Now(), loc)
	sc.AddEffect(func(ctx context.Context, db *ent.Client) error {
		for i, m := range seq.Messages {
			err := db.EmailMessage.Create().
				SetClientID(c.ID).SetTo(m.To).SetSubject(m.Subject).SetBody(m.Body).SetScheduledAt(m.ScheduledAt).
				SetRunID(sc.RunID).SetStepKey(sc.StepKey).SetPlanIndex(i).
				OnConflictColumns(emailmessage.FieldRunID, emailmessage.FieldStepKey, emailmessage.FieldPlanIndex).DoNothing().
				Exec(ctx)
			// DO NOTHING reports a message this run and step already wrote
			// (a re-executed step) as no row.
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("scheduling email %d: %w", i, err)
			}
		}
		return nil
	})
	return &seq, nil
}

// TargetingExecutor runs SOCIAL_TARGETING.
type TargetingExecutor struct {
	Client *ent.Client
}

// Execute implements engine.Executor.
func (x TargetingExecutor) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	c, err := loadClient(ctx, x.Client, sc)
	if err != nil {
		return nil, err
	}
	listings, err := crm.MatchListings(ctx, x.Client, c, 5)
	if err != nil {
		return nil, err
	}
	t := Target(c.ID, listings, interestsFor(c.PreApproved, c.DesiredBeds))
	return &t, nil
}
