package strategy

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/estateflow/estateflow/modules/analytics"
)

// Input is what a strategy is built from.
type Input struct {
	// Subject is the home; its ListPrice, when set, is checked against
	// the CMA range.
	Subject  analytics.Home
	Features []string
	Report   *analytics.Report
	// Comps are the full records of the report's comps.
	Comps []analytics.Home
	// Start is the first day of listing preparation.
	Start time.Time
}

// Build applies the strategy rules.
func Build(in Input) ListingStrategy {
	m := readMarket(in.Report)
	opts := pricing(in.Report, m.Temperature)
	return ListingStrategy{
		PropertyID:       in.Subject.ID,
		Market:           m,
		PriceCheck:       checkListPrice(in.Subject.ListPrice, in.Report, opts),
		USPs:             usps(in),
		PricingOptions:   opts,
		AudienceSegments: segments(in),
		Timeline:         timeline(in.Start, m.Temperature),
		NegotiationPlays: plays(m.Temperature, in.Subject, in.Start),
	}
}

func roundTo5k(v float64) int { return int(math.Round(v/5000)) * 5000 }

// daysOnMarket bands by option and temperature; an UNKNOWN market gets
// the balanced bands, the middle of the road.
var daysOnMarket = map[string]map[string][2]int{
	"BELOW_MARKET": {Tight: {3, 10}, Balanced: {7, 21}, Soft: {14, 45}, Unknown: {7, 21}},
	"AT_MARKET":    {Tight: {7, 21}, Balanced: {21, 45}, Soft: {45, 90}, Unknown: {21, 45}},
	"ASPIRATIONAL": {Tight: {21, 45}, Balanced: {45, 90}, Soft: {90, 150}, Unknown: {45, 90}},
}

func pricing(r *analytics.Report, temp string) []PricingOption {
	est := float64(r.EstimatedValue)
	aspirational := math.Max(float64(r.ValueHigh), est*1.05)
	opts := []PricingOption{
		{
			Name: "BELOW_MARKET", Price: roundTo5k(est * 0.97),
			Rationale: fmt.Sprintf("3%% under the CMA value of %d, to draw many buyers in the first week and start competing offers", r.EstimatedValue),
			Risk:      "the result depends on how many buyers compete; with few offers it can close under value",
		},
		{
			Name: "AT_MARKET", Price: roundTo5k(est),
			Rationale: fmt.Sprintf("the CMA value, the weighted median of %d adjusted comps", len(r.Comps)),
			Risk:      "low: in line with what comparable homes sold for",
		},
		{
			Name: "ASPIRATIONAL", Price: roundTo5k(aspirational),
			Rationale: fmt.Sprintf("the top of the CMA range (%d) or 5%% over the value, whichever is higher, for a buyer who values this home's advantages", r.ValueHigh),
			Risk:      "above most comps: expect a longer market time and a price cut if showings are slow; appraisal may come in lower",
		},
	}
	for i := range opts {
		band := daysOnMarket[opts[i].Name][temp]
		opts[i].MinDaysOnMarket, opts[i].MaxDaysOnMarket = band[0], band[1]
	}
	return opts
}

func medianOf(comps []analytics.Home, get func(analytics.Home) (float64, bool)) (float64, bool) {
	var vals []float64
	for _, c := range comps {
		if v, ok := get(c); ok {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return 0, false
	}
	slices.Sort(vals)
	if len(vals)%2 == 1 {
		return vals[len(vals)/2], true
	}
	return (vals[len(vals)/2-1] + vals[len(vals)/2]) / 2, true
}

func intOf(p *int) (float64, bool) {
	if p == nil {
		return 0, false
	}
	return float64(*p), true
}

// segments chooses buyer situations by price band, size, type and
// location. They describe circumstances, never who a buyer is.
func segments(in Input) []AudienceSegment {
	s, r := in.Subject, in.Report
	price := float64(r.EstimatedValue)
	medianPrice, _ := medianOf(in.Comps, func(h analytics.Home) (float64, bool) { return intOf(h.SalePrice) })
	medianSqft, _ := medianOf(in.Comps, func(h analytics.Home) (float64, bool) { return intOf(h.Sqft) })
	beds, _ := intOf(s.Beds)
	sqft, _ := intOf(s.Sqft)
	var out []AudienceSegment
	add := func(seg, why string) { out = append(out, AudienceSegment{Segment: seg, Reason: why}) }
	if medianPrice > 0 && price <= 0.85*medianPrice {
		add("FIRST_TIME_BUYER", fmt.Sprintf("valued at %.0f%% of the median comp price: an entry point into the area", price/medianPrice*100))
	} else if (s.PropertyType == "CONDO" || s.PropertyType == "TOWNHOUSE") && beds > 0 && beds <= 2 {
		add("FIRST_TIME_BUYER", fmt.Sprintf("a %g-bedroom %s: a common first purchase", beds, strings.ToLower(s.PropertyType)))
	}
	if beds >= 4 && medianSqft > 0 && sqft >= medianSqft {
		add("MOVE_UP_BUYER", fmt.Sprintf("%g bedrooms and %.0f sq ft, at least the median comp's %.0f: room for a growing household", beds, sqft, medianSqft))
	}
	if beds > 0 && beds <= 2 && s.PropertyType != "MULTI_FAMILY" {
		add("DOWNSIZER", fmt.Sprintf("%g bedrooms and %.0f sq ft: less space to keep up", beds, sqft))
	}
	if s.PropertyType == "MULTI_FAMILY" {
		add("INVESTOR", "several units: rental income from day one")
	}
	if (medianPrice > 0 && price >= 1.5*medianPrice) || price >= 1_000_000 {
		add("LUXURY_BUYER", fmt.Sprintf("valued at %d, at the top of the local market", r.EstimatedValue))
	}
	if r.SearchRadiusMiles >= 5 {
		add("RELOCATING_BUYER", fmt.Sprintf("few sales nearby (comps came from up to %.0f miles away): reach buyers searching the wider region", r.SearchRadiusMiles))
	}
	if len(out) == 0 {
		add("LOCAL_MOVE_UP_BUYER", "priced and sized near the local median: the broad middle of the market, often owners moving within the area")
	}
	return out
}

// plays picks negotiation tactics for the market. Seller's-market tactics
// (offer deadlines, highest and best) come only with a TIGHT reading,
// which needs the evidence readMarket asks for.
func plays(temp string, s analytics.Home, start time.Time) []NegotiationPlay {
	switch temp {
	case Tight:
		return []NegotiationPlay{
			{Play: "Set an offer deadline", When: "showings are strong in the first days live"},
			{Play: "Ask all bidders for their highest and best", When: "two or more offers are in"},
			{Play: "Check escalation clauses against proof of funds", When: "offers escalate past the list price"},
			{Play: "Keep seller concessions off the table", When: "a buyer asks for credits while others compete"},
		}
	case Soft:
		return []NegotiationPlay{
			{Play: "Share a pre-listing inspection", When: "at launch, so that buyers can waive or shorten contingencies"},
			{Play: "Offer a closing-cost credit instead of a price cut", When: "buyers cite monthly payments"},
			{Play: "Plan a price improvement", When: "no offer after 21 days on market"},
			{Play: "Be flexible on closing date and possession", When: "a buyer's timing is the obstacle"},
		}
	}
	out := []NegotiationPlay{
		{Play: "Counter on price, concede on terms", When: "the first offer is within 5% of asking"},
		{Play: "Ask for a shorter inspection period", When: "an offer comes with long contingencies"},
	}
	if temp == Unknown {
		out = append(out, NegotiationPlay{Play: "Read the first week's showings and feedback before choosing tactics",
			When: "too few nearby sales to read the market: the first week's traffic is the best evidence"})
	}
	if s.YearBuilt != nil && start.Year()-*s.YearBuilt >= 20 {
		out = append(out, NegotiationPlay{Play: "Offer a one-year home warranty", When: fmt.Sprintf("buyers worry about %d-year-old systems", start.Year()-*s.YearBuilt)})
	}
	return out
}
