package strategy

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/modules/calendar"
)

// Input is what a strategy is built from.
type Input struct {
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
	return ListingStrategy{
		PropertyID:       in.Subject.ID,
		Market:           m,
		USPs:             usps(in),
		PricingOptions:   pricing(in.Report, m.Temperature),
		AudienceSegments: segments(in),
		Timeline:         timeline(in.Start, m.Temperature),
		NegotiationPlays: plays(m.Temperature, in.Subject, in.Start),
	}
}

// Market temperatures.
const (
	Tight    = "TIGHT"
	Balanced = "BALANCED"
	Soft     = "SOFT"
)

// readMarket grades the market by months of supply (active listings over
// monthly sales) when the CMA knows the sales' dates, and by the
// sale-to-list ratio otherwise.
func readMarket(r *analytics.Report) MarketReading {
	m := MarketReading{Temperature: Balanced, SaleToListRatio: r.Market.SaleToListRatio}
	if r.LookbackMonths != nil && *r.LookbackMonths > 0 && r.CandidatesConsidered > 0 {
		perMonth := float64(r.CandidatesConsidered) / float64(*r.LookbackMonths)
		mos := math.Round(float64(r.Market.ActiveListings)/perMonth*10) / 10
		m.MonthsOfSupply = &mos
		switch {
		case mos < 3:
			m.Temperature = Tight
		case mos > 6:
			m.Temperature = Soft
		}
		m.Reason = fmt.Sprintf("%d active listings against %.1f sales a month: %.1f months of supply (under 3 is tight, over 6 soft)",
			r.Market.ActiveListings, perMonth, mos)
		return m
	}
	if r.Market.SaleToListRatio != nil {
		ratio := *r.Market.SaleToListRatio
		switch {
		case ratio >= 1:
			m.Temperature = Tight
		case ratio < 0.97:
			m.Temperature = Soft
		}
		m.Reason = fmt.Sprintf("homes nearby sold at %.1f%% of their list price (100%% or more is tight, under 97%% soft)", ratio*100)
		return m
	}
	m.Reason = "no dated sales or list prices nearby: treated as balanced"
	return m
}

func roundTo5k(v float64) int { return int(math.Round(v/5000)) * 5000 }

// daysOnMarket bands by option and temperature.
var daysOnMarket = map[string]map[string][2]int{
	"BELOW_MARKET": {Tight: {3, 10}, Balanced: {7, 21}, Soft: {14, 45}},
	"AT_MARKET":    {Tight: {7, 21}, Balanced: {21, 45}, Soft: {45, 90}},
	"ASPIRATIONAL": {Tight: {21, 45}, Balanced: {45, 90}, Soft: {90, 150}},
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

// usps lists the subject's measurable advantages over the median comp.
func usps(in Input) []USP {
	out := []USP{}
	add := func(feature, claim string, subject, comps float64) {
		out = append(out, USP{Feature: feature, Claim: claim, Subject: &subject, Comps: &comps})
	}
	s := in.Subject
	if sv, ok := intOf(s.Sqft); ok {
		if mv, ok := medianOf(in.Comps, func(h analytics.Home) (float64, bool) { return intOf(h.Sqft) }); ok && sv >= 1.05*mv {
			add("livingArea", fmt.Sprintf("%.0f%% more living area than the median comp (%.0f vs %.0f sq ft)", (sv/mv-1)*100, sv, mv), sv, mv)
		}
	}
	if sv, ok := intOf(s.Beds); ok {
		if mv, ok := medianOf(in.Comps, func(h analytics.Home) (float64, bool) { return intOf(h.Beds) }); ok && sv > mv {
			add("beds", fmt.Sprintf("%g more bedroom(s) than the median comp (%g vs %g)", sv-mv, sv, mv), sv, mv)
		}
	}
	if s.Baths != nil {
		if mv, ok := medianOf(in.Comps, func(h analytics.Home) (float64, bool) {
			if h.Baths == nil {
				return 0, false
			}
			return *h.Baths, true
		}); ok && *s.Baths > mv {
			add("baths", fmt.Sprintf("%g more bathroom(s) than the median comp (%g vs %g)", *s.Baths-mv, *s.Baths, mv), *s.Baths, mv)
		}
	}
	if sv, ok := intOf(s.YearBuilt); ok {
		if mv, ok := medianOf(in.Comps, func(h analytics.Home) (float64, bool) { return intOf(h.YearBuilt) }); ok && sv-mv >= 5 {
			add("yearBuilt", fmt.Sprintf("built %.0f years later than the median comp (%.0f vs %.0f)", sv-mv, sv, mv), sv, mv)
		}
	}
	if sv, ok := intOf(s.LotSqft); ok {
		if mv, ok := medianOf(in.Comps, func(h analytics.Home) (float64, bool) { return intOf(h.LotSqft) }); ok && sv >= 1.10*mv {
			add("lotSize", fmt.Sprintf("%.0f%% larger lot than the median comp (%.0f vs %.0f sq ft)", (sv/mv-1)*100, sv, mv), sv, mv)
		}
	}
	if sv, ok := intOf(s.GarageSpaces); ok {
		if mv, ok := medianOf(in.Comps, func(h analytics.Home) (float64, bool) { return intOf(h.GarageSpaces) }); ok && sv > mv {
			add("garage", fmt.Sprintf("%g more garage space(s) than the median comp (%g vs %g)", sv-mv, sv, mv), sv, mv)
		}
	}
	for _, f := range in.Features {
		out = append(out, USP{Feature: "listedFeature", Claim: "listed feature: " + strings.TrimSpace(f)})
	}
	return out
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

// timeline lays out the launch in business days from start.
func timeline(start time.Time, temp string) []Milestone {
	day0 := calendar.NextBusinessDay(time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC))
	photos := calendar.AddBusinessDays(day0, 5)
	comingSoon := calendar.AddBusinessDays(photos, 1)
	live := calendar.AddBusinessDays(comingSoon, 2)
	openHouse := calendar.NextSaturday(live)
	reviewAfter := 7
	if temp == Tight {
		reviewAfter = 4
	}
	review := calendar.AddBusinessDays(live, reviewAfter)
	return []Milestone{
		{Name: "PREP_AND_STAGING", Date: day0, Note: "repairs, cleaning and staging: 5 business days"},
		{Name: "PHOTOGRAPHY", Date: photos, Note: "photos and floor plan once staging is done"},
		{Name: "COMING_SOON", Date: comingSoon, Note: "announce the listing to agents and the waiting list"},
		{Name: "LIVE", Date: live, Note: "on the MLS and the portals"},
		{Name: "FIRST_OPEN_HOUSE", Date: openHouse, Note: "the first Saturday after going live"},
		{Name: "OFFER_REVIEW", Date: review, Note: fmt.Sprintf("%d business days after going live (%s market)", reviewAfter, strings.ToLower(temp))},
	}
}

// plays picks negotiation tactics for the market.
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
	if s.YearBuilt != nil && start.Year()-*s.YearBuilt >= 20 {
		out = append(out, NegotiationPlay{Play: "Offer a one-year home warranty", When: fmt.Sprintf("buyers worry about %d-year-old systems", start.Year()-*s.YearBuilt)})
	}
	return out
}
