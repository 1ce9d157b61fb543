package seed

import "github.com/estateflow/estateflow/ent/schema/stepkind"

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
	}
}
