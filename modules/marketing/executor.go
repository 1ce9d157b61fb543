package marketing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/emailmessage"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/ent/scheduledpost"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/modules/approval"
	"github.com/estateflow/estateflow/modules/crm"
	"github.com/estateflow/estateflow/modules/spec"
	"github.com/estateflow/estateflow/modules/strategy"
)

// maxBudget is the largest params.marketingBudget a campaign accepts.
const maxBudget = 10_000_000

// Module describes the marketing step kinds.
func Module() spec.Module {
	return spec.Module{
		Name: "marketing",
		Kinds: []spec.StepKind{
			{
				// Like FOLLOW_UP_SCHEDULING, it uses a lead tier among its
				// inputs when there is one, and requires none.
				Kind:      stepkind.EmailSequence,
				Subject:   stepkind.SubjectClient,
				NewOutput: func() spec.StepOutput { return &EmailSequence{} },
				NewExecutor: func(d spec.Deps) engine.Executor {
					return EmailExecutor{Client: d.Client, Now: d.Now, PublicURL: d.PublicURL}
				},
			},
			{
				Kind:      stepkind.HomeValueEmail,
				Subject:   stepkind.SubjectClient,
				Requires:  []stepkind.Kind{stepkind.HomeValuation}, // found by its purchaseTransactionId
				NewOutput: func() spec.StepOutput { return &HomeValueEmail{} },
				NewExecutor: func(d spec.Deps) engine.Executor {
					return HomeValueExecutor{Client: d.Client, Now: d.Now, PublicURL: d.PublicURL}
				},
			},
			{
				Kind:        stepkind.SocialTargeting,
				Subject:     stepkind.SubjectClient,
				NewOutput:   func() spec.StepOutput { return &SocialTargeting{} },
				NewExecutor: func(d spec.Deps) engine.Executor { return TargetingExecutor{Client: d.Client} },
			},
			{
				Kind:     stepkind.MarketingCampaign,
				Subject:  stepkind.SubjectProperty,
				Requires: []stepkind.Kind{stepkind.ListingStrategy}, // found by its pricingOptions
				Params: []spec.Param{
					{Name: "marketingBudget", Type: spec.Number, Min: new(0.0), Max: new(float64(maxBudget)), Default: strconv.Itoa(DefaultBudget)},
				},
				NewOutput:   func() spec.StepOutput { return &MarketingCampaign{} },
				NewExecutor: func(d spec.Deps) engine.Executor { return CampaignExecutor{Client: d.Client} },
			},
			{
				Kind:        stepkind.SocialScheduling,
				Subject:     stepkind.SubjectProperty,
				Requires:    []stepkind.Kind{stepkind.MarketingCampaign}, // found by its headlines
				NewOutput:   func() spec.StepOutput { return &SocialSchedule{} },
				NewExecutor: func(d spec.Deps) engine.Executor { return SocialExecutor{Client: d.Client} },
			},
		},
	}
}

// EmailExecutor runs EMAIL_SEQUENCE.
type EmailExecutor struct {
	Client *ent.Client
	Now    func() time.Time
	// PublicURL is the base of the unsubscribe links (spec.Deps).
	PublicURL string
}

// Execute implements engine.Executor. A client who has not consented gets
// no email, and the output says so for each one. With consent, a profile
// without the sender or the postal address fails the step permanently,
// naming the fields: no email may go out without them (CAN-SPAM).
func (x EmailExecutor) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	c, loc, err := crm.LoadClient(ctx, x.Client, sc)
	if err != nil {
		return nil, err
	}
	org := c.Edges.Organization
	r := Recipient{ClientID: c.ID, Name: c.Name, EmailOptIn: c.EmailOptIn, Areas: c.PreferredAreas,
		DesiredBeds: c.DesiredBeds, BudgetMax: c.BudgetMax, Tier: crm.TierFor(c, sc.Inputs)}
	if c.Email != nil {
		r.Email = *c.Email
	}
	sender := Sender{Name: org.SenderName, Email: org.SenderEmail, Brokerage: org.BrokerageName, PostalAddress: org.PostalAddress,
		Phone: org.Phone, Website: org.Website, Signature: org.Signature}
	if sender.Brokerage == "" {
		sender.Brokerage = org.Name
	}
	in := EmailInput{Recipient: r, Sender: sender, Now: x.Now(), Loc: loc}
	if r.EmailOptIn && r.Email != "" {
		if missing := sender.Missing(); len(missing) > 0 {
			return nil, engine.Permanent(fmt.Errorf("the organization's profile lacks %s, which every email needs (CAN-SPAM: who sends it and a postal address); set them with updateOrganization",
				strings.Join(missing, ", ")))
		}
		if len(org.UnsubscribeKey) == 0 {
			return nil, engine.Permanent(errors.New("the organization has no unsubscribe key; restart the server to migrate it"))
		}
		base := strings.TrimRight(x.PublicURL, "/")
		if base == "" {
			return nil, engine.Permanent(errors.New("the server has no public URL (--public-url) to build unsubscribe links on"))
		}
		in.UnsubscribeURL = func(i int) string {
			return base + "/u/" + SignToken(org.UnsubscribeKey, messageNonce(org.UnsubscribeKey, sc.RunID, sc.StepKey, i))
		}
		if in.Listings, err = crm.MatchListings(ctx, x.Client, c, maxListed); err != nil {
			return nil, err
		}
		market, err := LoadMarket(ctx, x.Client, c.PreferredAreas, in.Now, loc)
		if err != nil {
			return nil, err
		}
		in.Market = &market
	}
	seq := PlanEmails(in)
	if seq.Superseded, err = planEmailSupersession(ctx, x.Client, c.ID, sc.RunID); err != nil {
		return nil, err
	}
	if s := crm.DescribeSupersession("emails", seq.Superseded); s != "" {
		seq.Reason += "; " + s
	}
	sc.AddEffect(func(ctx context.Context, db *ent.Client) error {
		if err := supersedeEmails(ctx, db, c.ID, sc.RunID, seq.Superseded); err != nil {
			return err
		}
		for i, m := range seq.Messages {
			err := db.EmailMessage.Create().
				SetClientID(c.ID).SetTo(m.To).SetSubject(m.Subject).SetBody(m.Body).SetScheduledAt(m.ScheduledAt).
				SetFromName(m.FromName).SetFromEmail(m.FromEmail).
				SetListUnsubscribe(m.ListUnsubscribe).SetListUnsubscribePost(m.ListUnsubscribePost).
				SetUnsubscribeNonce(EncodeNonce(messageNonce(org.UnsubscribeKey, sc.RunID, sc.StepKey, i))).
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
	c, _, err := crm.LoadClient(ctx, x.Client, sc)
	if err != nil {
		return nil, err
	}
	listings, err := crm.MatchListings(ctx, x.Client, c, 5)
	if err != nil {
		return nil, err
	}
	t, err := TargetClient(ctx, x.Client, c, listings)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// CampaignExecutor runs MARKETING_CAMPAIGN on the run's property, from the
// listing strategy among its inputs. params.marketingBudget sets the budget.
type CampaignExecutor struct {
	Client *ent.Client
}

// Execute implements engine.Executor.
func (x CampaignExecutor) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	var s strategy.ListingStrategy
	if err := spec.DecodeInput(sc.Inputs, "pricingOptions", &s); err != nil {
		return nil, engine.Permanent(fmt.Errorf("a marketing campaign needs a LISTING_STRATEGY step among its dependencies: %w", err))
	}
	p, err := loadProperty(ctx, x.Client, sc)
	if err != nil {
		return nil, err
	}
	budget := DefaultBudget
	if v, ok := sc.Params["marketingBudget"].(float64); ok {
		// The start check refuses such a budget; runs started before it
		// existed may still carry one.
		if v < 0 || v > maxBudget {
			return nil, engine.Permanent(fmt.Errorf("params.marketingBudget %v is out of range (0 to 10,000,000)", v))
		}
		budget = int(v)
	}
	org, err := x.Client.Organization.Get(ctx, p.OrganizationID)
	if err != nil {
		return nil, err
	}
	in := CampaignInput{Home: analytics.HomeOf(p), City: p.City, Type: string(p.PropertyType), Features: p.Features,
		Strategy: &s, Budget: budget, Website: org.Website}
	if hasInput(sc.Inputs, "decision") {
		// An approval among the dependencies: its choice sets the price.
		var a approval.Output
		if err := spec.DecodeInput(sc.Inputs, "decision", &a); err != nil {
			return nil, engine.Permanent(err)
		}
		in.Approval = &a
	}
	c := BuildCampaign(in)
	return &c, nil
}

// hasInput reports whether a dependency's output has the field.
func hasInput(inputs map[string]map[string]any, field string) bool {
	for _, out := range inputs {
		if _, ok := out[field]; ok {
			return true
		}
	}
	return false
}

// SocialExecutor runs SOCIAL_SCHEDULING from the campaign among its inputs.
// Every post links to the listing on the organization's website, so an
// organization without a website fails the step permanently, naming the
// field: a post without a link is not one an agent would publish.
type SocialExecutor struct {
	Client *ent.Client
}

// Execute implements engine.Executor.
func (x SocialExecutor) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	var c MarketingCampaign
	if err := spec.DecodeInput(sc.Inputs, "headlines", &c); err != nil {
		return nil, engine.Permanent(fmt.Errorf("social scheduling needs a MARKETING_CAMPAIGN step among its dependencies: %w", err))
	}
	p, err := loadProperty(ctx, x.Client, sc)
	if err != nil {
		return nil, err
	}
	org, err := x.Client.Organization.Get(ctx, p.OrganizationID)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(org.Timezone)
	if err != nil {
		return nil, engine.Permanent(fmt.Errorf("the organization's time zone %q: %w", org.Timezone, err))
	}
	if c.ListingURL = ListingURL(org.Website, p.ID); c.ListingURL == "" {
		return nil, engine.Permanent(errors.New("organization.website is empty: every post links to the listing's page on it; set it with updateOrganization and run again"))
	}
	// The plan is made here, from the posts committed so far, and made
	// again in the outcome's transaction with the property locked: the
	// output the engine stores is this plan, so the effect writes exactly
	// these rows or fails the attempt, which then plans anew.
	existing, _, err := postsOf(ctx, x.Client, p.ID, sc)
	if err != nil {
		return nil, err
	}
	c.PropertyID = p.ID
	plan := PlanPosts(c, existing, loc)
	sc.AddEffect(func(ctx context.Context, db *ent.Client) error {
		if err := lockProperty(ctx, db, p.ID); err != nil {
			return err
		}
		existing, own, err := postsOf(ctx, db, p.ID, sc)
		if err != nil {
			return err
		}
		if now := PlanPosts(c, existing, loc); !samePlan(now, plan) {
			// Another run scheduled posts for this property since the
			// plan was made; writing the stale plan would break the gap
			// rule or store an output that is not what was written.
			return fmt.Errorf("property %d: %w", p.ID, errScheduleChanged)
		}
		if len(own) > 0 {
			// Written by an earlier attempt of this very step, which the
			// engine's bookkeeping rules out; accept only the same rows.
			if !samePosts(own, plan.Posts) {
				return fmt.Errorf("property %d: posts of step %q already written differ from its plan", p.ID, sc.StepKey)
			}
			return nil
		}
		creates := make([]*ent.ScheduledPostCreate, len(plan.Posts))
		for i, post := range plan.Posts {
			creates[i] = db.ScheduledPost.Create().
				SetPropertyID(p.ID).SetPlatform(scheduledpost.Platform(post.Platform)).SetScheduledAt(post.ScheduledAt).SetText(post.Text).
				SetRunID(sc.RunID).SetStepKey(sc.StepKey)
		}
		// No ON CONFLICT clause: with the property locked and the plan
		// checked, a conflicting slot is a bug that must fail the attempt,
		// not a row silently missing from the output.
		if err := db.ScheduledPost.CreateBulk(creates...).Exec(ctx); err != nil {
			return fmt.Errorf("scheduling %d posts for property %d: %w", len(creates), p.ID, err)
		}
		return nil
	})
	return &plan, nil
}

// errScheduleChanged fails a SOCIAL_SCHEDULING attempt whose plan was
// overtaken by another run's posts; the retry plans around them.
var errScheduleChanged = errors.New("another run scheduled posts for this property meanwhile; the step plans again")

// lockProperty serializes the runs that schedule posts for one property.
// Each run's outcome transaction locks its own run row, so two runs on one
// property would not wait for each other; on PostgreSQL the property row is
// locked FOR UPDATE until the transaction ends. SQLite transactions are
// BEGIN IMMEDIATE and already serialized, and SQLite has no FOR UPDATE.
// Only the selector knows the dialect, hence the lock set in a predicate.
func lockProperty(ctx context.Context, db *ent.Client, propertyID int) error {
	_, err := db.Property.Query().Where(property.ID(propertyID), func(s *entsql.Selector) {
		if s.Dialect() == dialect.Postgres {
			s.ForUpdate(entsql.WithLockTables(property.Table))
		}
	}).Only(ctx)
	if err != nil {
		return fmt.Errorf("locking property %d: %w", propertyID, err)
	}
	return nil
}

// postsOf returns the property's live posts by platform, leaving out those
// of this run's step, and those of this run's step.
func postsOf(ctx context.Context, db *ent.Client, propertyID int, sc *engine.StepContext) (existing map[string][]time.Time, own []PlannedPost, err error) {
	posts, err := db.ScheduledPost.Query().
		Where(scheduledpost.PropertyID(propertyID), scheduledpost.StatusNEQ(scheduledpost.StatusCANCELED)).
		Order(scheduledpost.ByID()).All(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the posts of property %d: %w", propertyID, err)
	}
	existing = map[string][]time.Time{}
	for _, post := range posts {
		if post.RunID != nil && *post.RunID == sc.RunID && post.StepKey != nil && *post.StepKey == sc.StepKey {
			own = append(own, PlannedPost{Platform: string(post.Platform), ScheduledAt: post.ScheduledAt, Text: post.Text})
			continue
		}
		existing[string(post.Platform)] = append(existing[string(post.Platform)], post.ScheduledAt)
	}
	return existing, own, nil
}

func samePlan(a, b SocialSchedule) bool {
	return a.Skipped == b.Skipped && samePosts(a.Posts, b.Posts)
}

// samePosts compares posts in order: rows read back by ID come in
// insertion order, which is the plan's.
func samePosts(a, b []PlannedPost) bool {
	return slices.EqualFunc(a, b, func(x, y PlannedPost) bool {
		return x.Platform == y.Platform && x.ScheduledAt.Equal(y.ScheduledAt) && x.Text == y.Text
	})
}

func loadProperty(ctx context.Context, db *ent.Client, sc *engine.StepContext) (*ent.Property, error) {
	if sc.Subject.Type != engine.SubjectProperty {
		return nil, engine.Permanent(fmt.Errorf("%s needs a property as the run's subject", sc.Kind))
	}
	p, err := db.Property.Get(ctx, sc.Subject.ID)
	if ent.IsNotFound(err) {
		return nil, engine.Permanent(fmt.Errorf("property %d no longer exists", sc.Subject.ID))
	}
	return p, err
}
