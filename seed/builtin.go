package seed

import (
	"context"
	"fmt"
	"slices"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/workflowpackage"
	"github.com/estateflow/estateflow/tenant"
)

// StepDef is one step of a built-in package.
type StepDef struct {
	Key       string
	Name      string
	Kind      stepkind.Kind
	DependsOn []string
}

// PackageDef is a built-in package.
type PackageDef struct {
	Key         string
	Name        string
	Description string
	Subject     stepkind.Subject
	Steps       []StepDef
}

// BuiltinPackages are the packages every organization starts with.
func BuiltinPackages() []PackageDef {
	return []PackageDef{
		{
			Key:         "new-listing",
			Name:        "New Listing",
			Description: "Prices a new listing from comparable sales, builds the listing strategy, writes the marketing campaign and schedules its social posts.",
			Subject:     stepkind.SubjectProperty,
			Steps: []StepDef{
				{Key: "cma", Name: "Comparative market analysis", Kind: stepkind.CMAAnalysis},
				{Key: "strategy", Name: "Listing strategy", Kind: stepkind.ListingStrategy, DependsOn: []string{"cma"}},
				{Key: "campaign", Name: "Marketing campaign", Kind: stepkind.MarketingCampaign, DependsOn: []string{"strategy"}},
				{Key: "social", Name: "Social scheduling", Kind: stepkind.SocialScheduling, DependsOn: []string{"campaign"}},
			},
		},
		{
			Key:         "lead-nurture",
			Name:        "Lead Nurture",
			Description: "Scores a lead, starts an email sequence and social targeting that fit the score, then schedules the follow-ups.",
			Subject:     stepkind.SubjectClient,
			Steps: []StepDef{
				{Key: "score", Name: "Lead scoring", Kind: stepkind.LeadScoring},
				{Key: "email", Name: "Email sequence", Kind: stepkind.EmailSequence, DependsOn: []string{"score"}},
				{Key: "targeting", Name: "Social targeting", Kind: stepkind.SocialTargeting, DependsOn: []string{"score"}},
				{Key: "follow-up", Name: "Follow-up scheduling", Kind: stepkind.FollowUpScheduling, DependsOn: []string{"email", "targeting"}},
			},
		},
		{
			Key:         "home-value-update",
			Name:        "Home Value Update",
			Description: "Values a past client's home (the property of their closed purchase) from comparable sales, then emails them the value range and their area's market figures.",
			Subject:     stepkind.SubjectClient,
			Steps: []StepDef{
				{Key: "valuation", Name: "Home valuation", Kind: stepkind.HomeValuation},
				{Key: "email", Name: "Home value email", Kind: stepkind.HomeValueEmail, DependsOn: []string{"valuation"}},
			},
		},
	}
}

// AddMissingBuiltins gives every organization the built-in packages it
// lacks by key (those added to BuiltinPackages after it was created, such as
// home-value-update), each organization in one transaction. A package an
// organization already has, built-in or its own with that key, is left as
// it is. Replicas starting together may race: the loser's unique-key
// conflict is ignored.
func AddMissingBuiltins(ctx context.Context, client *ent.Client) (int, error) {
	ctx = tenant.SystemContext(ctx)
	orgs, err := client.Organization.Query().IDs(ctx)
	if err != nil {
		return 0, fmt.Errorf("seed: listing organizations: %w", err)
	}
	added := 0
	for _, orgID := range orgs {
		have, err := client.WorkflowPackage.Query().Where(workflowpackage.OrganizationID(orgID)).
			Select(workflowpackage.FieldKey).Strings(ctx)
		if err != nil {
			return added, fmt.Errorf("seed: reading the packages of organization %d: %w", orgID, err)
		}
		var missing []PackageDef
		for _, def := range BuiltinPackages() {
			if !slices.Contains(have, def.Key) {
				missing = append(missing, def)
			}
		}
		if len(missing) == 0 {
			continue
		}
		tx, err := client.Tx(ctx)
		if err != nil {
			return added, fmt.Errorf("seed: %w", err)
		}
		if err := CreatePackages(ctx, tx.Client(), orgID, missing); err != nil {
			_ = tx.Rollback()
			if ent.IsConstraintError(err) {
				continue // another replica added them
			}
			return added, err
		}
		if err := tx.Commit(); err != nil {
			if ent.IsConstraintError(err) {
				continue
			}
			return added, fmt.Errorf("seed: commit: %w", err)
		}
		added += len(missing)
	}
	return added, nil
}
