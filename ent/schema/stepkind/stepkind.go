// Package stepkind names the kinds of step a package can chain and the two
// subjects (a property or a client) a package can work on. What each kind
// does, which subject it works on and what it needs is declared by the module
// that implements it (modules.All).
//
// It lives beside the ent schema because ent and GraphQL both bind to these Go
// types; the engine's code never imports it, since it must stay free of
// real-estate knowledge.
package stepkind

import "slices"

// Kind is the kind of work a package step does.
type Kind string

// The step kinds of the built-in packages; custom packages combine the same kinds.
const (
	CMAAnalysis        Kind = "CMA_ANALYSIS"
	ListingStrategy    Kind = "LISTING_STRATEGY"
	MarketingCampaign  Kind = "MARKETING_CAMPAIGN"
	SocialScheduling   Kind = "SOCIAL_SCHEDULING"
	LeadScoring        Kind = "LEAD_SCORING"
	EmailSequence      Kind = "EMAIL_SEQUENCE"
	SocialTargeting    Kind = "SOCIAL_TARGETING"
	FollowUpScheduling Kind = "FOLLOW_UP_SCHEDULING"
	// Approval waits for a person's decision on its dependencies' outputs;
	// it works on either subject.
	Approval       Kind = "APPROVAL"
	HomeValuation  Kind = "HOME_VALUATION"
	HomeValueEmail Kind = "HOME_VALUE_EMAIL"
)

// Subject is what a package, and each of its steps, works on.
type Subject string

// The two kinds of subject.
const (
	SubjectProperty Subject = "PROPERTY"
	SubjectClient   Subject = "CLIENT"
)

// Values lists every kind; ent uses it to build the enum.
func (Kind) Values() []string {
	return []string{
		string(CMAAnalysis), string(ListingStrategy), string(MarketingCampaign), string(SocialScheduling),
		string(LeadScoring), string(EmailSequence), string(SocialTargeting), string(FollowUpScheduling),
		string(Approval),
		string(HomeValuation), string(HomeValueEmail),
	}
}

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool { return slices.Contains(k.Values(), string(k)) }

// String implements fmt.Stringer.
func (k Kind) String() string { return string(k) }

// Values lists every subject; ent uses it to build the enum.
func (Subject) Values() []string { return []string{string(SubjectProperty), string(SubjectClient)} }

// String implements fmt.Stringer.
func (s Subject) String() string { return string(s) }
