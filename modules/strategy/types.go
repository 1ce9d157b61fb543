package strategy

import "time"

// ListingStrategy is the LISTING_STRATEGY step's output.
type ListingStrategy struct {
	PropertyID       int               `json:"propertyId"`
	Market           MarketReading     `json:"market"`
	USPs             []USP             `json:"usps"`
	PricingOptions   []PricingOption   `json:"pricingOptions"`
	AudienceSegments []AudienceSegment `json:"audienceSegments"`
	Timeline         []Milestone       `json:"timeline"`
	NegotiationPlays []NegotiationPlay `json:"negotiationPlays"`
}

// IsStepOutput marks a ListingStrategy as a step's typed output.
func (*ListingStrategy) IsStepOutput() {}

// MarketReading says how tight the market is, and why.
type MarketReading struct {
	Temperature     string   `json:"temperature"` // TIGHT, BALANCED or SOFT
	MonthsOfSupply  *float64 `json:"monthsOfSupply,omitempty"`
	SaleToListRatio *float64 `json:"saleToListRatio,omitempty"`
	Reason          string   `json:"reason"`
}

// USP is a measurable advantage of the home over its comps.
type USP struct {
	Feature string   `json:"feature"`
	Claim   string   `json:"claim"`
	Subject *float64 `json:"subject,omitempty"`
	Comps   *float64 `json:"comps,omitempty"` // the comps' median
}

// PricingOption is one way to price the listing.
type PricingOption struct {
	Name            string `json:"name"` // BELOW_MARKET, AT_MARKET or ASPIRATIONAL
	Price           int    `json:"price"`
	Rationale       string `json:"rationale"`
	MinDaysOnMarket int    `json:"minDaysOnMarket"`
	MaxDaysOnMarket int    `json:"maxDaysOnMarket"`
	Risk            string `json:"risk"`
}

// AudienceSegment is a buyer situation to market to.
type AudienceSegment struct {
	Segment string `json:"segment"`
	Reason  string `json:"reason"`
}

// Milestone is one dated step of the launch.
type Milestone struct {
	Name string    `json:"name"`
	Date time.Time `json:"date"`
	Note string    `json:"note"`
}

// NegotiationPlay is a tactic and when to use it.
type NegotiationPlay struct {
	Play string `json:"play"`
	When string `json:"when"`
}
