package strategy

import "time"

// ListingStrategy is the LISTING_STRATEGY step's output.
type ListingStrategy struct {
	PropertyID       int               `json:"propertyId"`
	Market           MarketReading     `json:"market"`
	PriceCheck       ListPriceCheck    `json:"priceCheck"`
	USPs             []USP             `json:"usps"`
	PricingOptions   []PricingOption   `json:"pricingOptions"`
	AudienceSegments []AudienceSegment `json:"audienceSegments"`
	Timeline         []Milestone       `json:"timeline"`
	NegotiationPlays []NegotiationPlay `json:"negotiationPlays"`
}

// IsStepOutput marks a ListingStrategy as a step's typed output.
func (*ListingStrategy) IsStepOutput() {}

// MarketReading says how tight the market is, and why. It reads two
// signals; Agreement says whether they agree (AGREE), disagree (DISAGREE),
// only one had enough sales behind it (SINGLE_SIGNAL), or neither did
// (NONE, and the temperature is UNKNOWN).
type MarketReading struct {
	Temperature     string         `json:"temperature"` // TIGHT, BALANCED, SOFT or UNKNOWN
	MonthsOfSupply  *float64       `json:"monthsOfSupply,omitempty"`
	SaleToListRatio *float64       `json:"saleToListRatio,omitempty"`
	Signals         []MarketSignal `json:"signals"`
	Agreement       string         `json:"agreement"`
	Reason          string         `json:"reason"`
}

// MarketSignal is one measure of the market, the sample behind it and the
// reading it gives on its own (UNKNOWN below its minimum sample).
type MarketSignal struct {
	Name       string   `json:"name"` // MONTHS_OF_SUPPLY or SALE_TO_LIST
	Value      *float64 `json:"value,omitempty"`
	Reading    string   `json:"reading"`
	SampleSize int      `json:"sampleSize"`
	MinSample  int      `json:"minSample"`
	Note       string   `json:"note"`
}

// ListPriceCheck compares the property's list price with the CMA range.
type ListPriceCheck struct {
	Status         string `json:"status"` // NO_LIST_PRICE, WITHIN_RANGE, ABOVE_RANGE or BELOW_RANGE
	ListPrice      *int   `json:"listPrice,omitempty"`
	EstimatedValue int    `json:"estimatedValue"`
	ValueLow       int    `json:"valueLow"`
	ValueHigh      int    `json:"valueHigh"`
	// GapToValuePercent is how far the list price is from the CMA value;
	// GapToRangePercent how far it is outside the range (0 inside it).
	// Positive above, negative below.
	GapToValuePercent *float64 `json:"gapToValuePercent,omitempty"`
	GapToRangePercent *float64 `json:"gapToRangePercent,omitempty"`
	Recommendation    string   `json:"recommendation"`
}

// USP is a measurable advantage of the home over its comps. Claim is for
// the agent (it compares with the comps); BuyerCopy states the same
// advantage as a plain fact about the home, fit for an ad.
type USP struct {
	Feature   string   `json:"feature"`
	Claim     string   `json:"claim"`
	BuyerCopy string   `json:"buyerCopy"`
	Subject   *float64 `json:"subject,omitempty"`
	Comps     *float64 `json:"comps,omitempty"` // the comps' median
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

// Milestone is one dated step of the launch. MovedFrom is the date it
// would have had without the holidays, and MoveReason names them.
type Milestone struct {
	Name       string     `json:"name"`
	Date       time.Time  `json:"date"`
	Note       string     `json:"note"`
	MovedFrom  *time.Time `json:"movedFrom,omitempty"`
	MoveReason string     `json:"moveReason,omitempty"`
}

// NegotiationPlay is a tactic and when to use it.
type NegotiationPlay struct {
	Play string `json:"play"`
	When string `json:"when"`
}
