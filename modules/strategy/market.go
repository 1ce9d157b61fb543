package strategy

import (
	"fmt"
	"math"
	"strings"

	"github.com/estateflow/estateflow/modules/analytics"
)

// Market temperatures. TIGHT is a seller's market, SOFT a buyer's;
// UNKNOWN means too few sales to tell.
const (
	Tight    = "TIGHT"
	Balanced = "BALANCED"
	Soft     = "SOFT"
	Unknown  = "UNKNOWN"
)

// Agreement of the two market signals.
const (
	Agree        = "AGREE"
	Disagree     = "DISAGREE"
	SingleSignal = "SINGLE_SIGNAL"
	NoSignal     = "NONE"
)

// Thresholds. Months of supply (active listings over the monthly pace of
// sales) is the industry's standard gauge: under about 4 months is a
// seller's market, over about 6 a buyer's, between them balanced (the
// convention of the National Association of Realtors' existing-home sales
// reports and of most MLS market reports; some use 5–6 as "balanced").
// The sale-to-list ratio is read the way local association reports read
// it: homes selling at or above their list price (100% or more) is a
// seller's market, under about 97% a buyer's. It is the less standard of
// the two signals, which is why a reading that rests on it alone says so.
const (
	sellersMarketMonths = 4.0
	buyersMarketMonths  = 6.0
	sellersMarketRatio  = 1.0
	buyersMarketRatio   = 0.97
)

// Minimum samples. A monthly sales pace from fewer than 10 sales moves by
// a month of supply or more with a single sale; a median sale-to-list
// ratio of fewer than 5 sales is one or two negotiations.
const (
	MinSalesForSupply = 10
	MinSalesForRatio  = 5
)

// readMarket grades the market by months of supply and by the sale-to-list
// ratio, each only from enough sales. When both are read and they differ,
// the market is read as BALANCED and the reason states the disagreement:
// neither seller's- nor buyer's-market tactics are supported then.
func readMarket(r *analytics.Report) MarketReading {
	supply, ratio := supplySignal(r), ratioSignal(r)
	m := MarketReading{Signals: []MarketSignal{supply, ratio}, MonthsOfSupply: supply.Value, SaleToListRatio: ratio.Value}
	switch {
	case supply.Reading == Unknown && ratio.Reading == Unknown:
		m.Temperature, m.Agreement = Unknown, NoSignal
		m.Reason = fmt.Sprintf("too few sales to read the market: %s; %s", supply.Note, ratio.Note)
	case supply.Reading == Unknown || ratio.Reading == Unknown:
		known, other := supply, ratio
		if supply.Reading == Unknown {
			known, other = ratio, supply
		}
		m.Temperature, m.Agreement = known.Reading, SingleSignal
		m.Reason = fmt.Sprintf("%s, read from one signal only: %s; %s", marketWords(known.Reading), known.Note, other.Note)
	case supply.Reading == ratio.Reading:
		m.Temperature, m.Agreement = supply.Reading, Agree
		m.Reason = fmt.Sprintf("%s: both signals agree: %s; %s", marketWords(supply.Reading), supply.Note, ratio.Note)
	default:
		m.Temperature, m.Agreement = Balanced, Disagree
		m.Reason = fmt.Sprintf("the signals disagree (%s by supply, %s by sale-to-list), so the market is read as balanced and no tactic that needs %s is recommended: %s; %s",
			strings.ToLower(supply.Reading), strings.ToLower(ratio.Reading), unsupported(supply.Reading, ratio.Reading), supply.Note, ratio.Note)
	}
	return m
}

func supplySignal(r *analytics.Report) MarketSignal {
	s := MarketSignal{Name: "MONTHS_OF_SUPPLY", Reading: Unknown, SampleSize: r.CandidatesConsidered, MinSample: MinSalesForSupply}
	if r.LookbackMonths == nil || *r.LookbackMonths <= 0 {
		s.SampleSize = 0
		s.Note = "months of supply unknown: the nearby sales have no dates, so their monthly pace is unknown"
		return s
	}
	months := *r.LookbackMonths
	if r.CandidatesConsidered < MinSalesForSupply {
		s.Note = fmt.Sprintf("months of supply not read: %d sales in %d months is under the minimum of %d", r.CandidatesConsidered, months, MinSalesForSupply)
		return s
	}
	perMonth := float64(r.CandidatesConsidered) / float64(months)
	mos := math.Round(float64(r.Market.ActiveListings)/perMonth*10) / 10
	s.Value = &mos
	switch {
	case mos < sellersMarketMonths:
		s.Reading = Tight
	case mos > buyersMarketMonths:
		s.Reading = Soft
	default:
		s.Reading = Balanced
	}
	s.Note = fmt.Sprintf("%s against %.1f sales a month (%d in %d months): %.1f months of supply (under %g is a seller's market, over %g a buyer's)",
		plural(r.Market.ActiveListings, "active listing", "active listings"), perMonth, r.CandidatesConsidered, months, mos, sellersMarketMonths, buyersMarketMonths)
	return s
}

func ratioSignal(r *analytics.Report) MarketSignal {
	n := r.Market.SalesWithListPrice
	s := MarketSignal{Name: "SALE_TO_LIST", Reading: Unknown, SampleSize: n, MinSample: MinSalesForRatio}
	if r.Market.SaleToListRatio == nil || n < MinSalesForRatio {
		s.Note = fmt.Sprintf("sale-to-list not read: %s with a known list price, under the minimum of %d", plural(n, "sale", "sales"), MinSalesForRatio)
		return s
	}
	ratio := *r.Market.SaleToListRatio
	s.Value = &ratio
	switch {
	case ratio >= sellersMarketRatio:
		s.Reading = Tight
	case ratio < buyersMarketRatio:
		s.Reading = Soft
	default:
		s.Reading = Balanced
	}
	s.Note = fmt.Sprintf("the median of %d nearby sales closed at %.1f%% of list price (100%% or more is a seller's market, under %g%% a buyer's)",
		n, ratio*100, buyersMarketRatio*100)
	return s
}

func marketWords(temp string) string {
	switch temp {
	case Tight:
		return "a seller's market"
	case Soft:
		return "a buyer's market"
	case Balanced:
		return "a balanced market"
	}
	return "an unknown market"
}

// unsupported names the markets two disagreeing signals leave unproven.
func unsupported(a, b string) string {
	switch {
	case (a == Tight && b == Soft) || (a == Soft && b == Tight):
		return "a seller's or a buyer's market"
	case a == Tight || b == Tight:
		return marketWords(Tight)
	}
	return marketWords(Soft)
}

// plural writes a count with the noun's right form.
func plural(n int, one, many string) string { return fmt.Sprintf("%d %s", n, noun(n, one, many)) }

func noun(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
