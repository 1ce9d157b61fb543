// Package stepkind names the kinds of step a package can chain and the kind of
// subject (a property or a client) each of them works on.
//
// It lives beside the ent schema because ent and GraphQL both bind to these Go
// types; the engine never imports it, since it must stay free of real-estate
// knowledge.
package stepkind

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
)

// Subject is what a package, and each of its steps, works on.
type Subject string

// The two kinds of subject.
const (
	SubjectProperty Subject = "PROPERTY"
	SubjectClient   Subject = "CLIENT"
)

var subjectOfKind = map[Kind]Subject{
	CMAAnalysis:        SubjectProperty,
	ListingStrategy:    SubjectProperty,
	MarketingCampaign:  SubjectProperty,
	SocialScheduling:   SubjectProperty,
	LeadScoring:        SubjectClient,
	EmailSequence:      SubjectClient,
	SocialTargeting:    SubjectClient,
	FollowUpScheduling: SubjectClient,
}

// Values lists every kind; ent uses it to build the enum.
func (Kind) Values() []string {
	return []string{
		string(CMAAnalysis), string(ListingStrategy), string(MarketingCampaign), string(SocialScheduling),
		string(LeadScoring), string(EmailSequence), string(SocialTargeting), string(FollowUpScheduling),
	}
}

// Valid reports whether k is one of the known kinds.
func (k Kind) Valid() bool {
	_, ok := subjectOfKind[k]
	return ok
}

// Subject returns the subject that a step of kind k needs, or "" for an unknown kind.
func (k Kind) Subject() Subject { return subjectOfKind[k] }

// String implements fmt.Stringer.
func (k Kind) String() string { return string(k) }

// Values lists every subject; ent uses it to build the enum.
func (Subject) Values() []string { return []string{string(SubjectProperty), string(SubjectClient)} }

// String implements fmt.Stringer.
func (s Subject) String() string { return string(s) }
