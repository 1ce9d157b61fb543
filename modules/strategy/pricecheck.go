package strategy

import (
	"github.com/estateflow/estateflow/internal/numfmt"

	"fmt"
	"math"

	"github.com/estateflow/estateflow/modules/analytics"
)

// List-price check statuses.
const (
	NoListPrice = "NO_LIST_PRICE"
	WithinRange = "WITHIN_RANGE"
	AboveRange  = "ABOVE_RANGE"
	BelowRange  = "BELOW_RANGE"
)

// farFromValuePercent is how far from the CMA value a list price inside a
// wide range still deserves a word with the seller.
const farFromValuePercent = 5.0

// checkListPrice compares the property's list price with the CMA's value
// and range, and says what to do when it lies outside the range: a price
// above it meets fewer showings and an appraisal under the contract price;
// one below it gives away value unless the seller means to draw
// competing offers.
func checkListPrice(listPrice *int, r *analytics.Report, opts []PricingOption) ListPriceCheck {
	c := ListPriceCheck{Status: NoListPrice, EstimatedValue: r.EstimatedValue, ValueLow: r.ValueLow, ValueHigh: r.ValueHigh}
	atMarket, aspirational := optionPrice(opts, "AT_MARKET"), optionPrice(opts, "ASPIRATIONAL")
	if listPrice == nil || *listPrice <= 0 {
		c.Recommendation = fmt.Sprintf("no list price is set: choose one of the pricing options (at market: %s)", numfmt.Dollars(atMarket))
		return c
	}
	lp := float64(*listPrice)
	c.ListPrice = listPrice
	if r.EstimatedValue > 0 {
		gap := round1((lp/float64(r.EstimatedValue) - 1) * 100)
		c.GapToValuePercent = &gap
	}
	outside := 0.0
	switch {
	case r.ValueHigh > 0 && lp > float64(r.ValueHigh):
		c.Status = AboveRange
		outside = round1((lp/float64(r.ValueHigh) - 1) * 100)
		c.Recommendation = fmt.Sprintf("the list price %s is %.1f%% above the CMA value (%s) and %.1f%% above the top of its range (%s): expect fewer showings, a longer market time and an appraisal under the contract price; "+
			"talk with the seller about listing at %s (the aspirational option) or lower, or document what the comps miss (upgrades, condition, view) before launch",
			numfmt.Dollars(*listPrice), *c.GapToValuePercent, numfmt.Dollars(r.EstimatedValue), outside, numfmt.Dollars(r.ValueHigh), numfmt.Dollars(aspirational))
	case r.ValueLow > 0 && lp < float64(r.ValueLow):
		c.Status = BelowRange
		outside = round1((lp/float64(r.ValueLow) - 1) * 100)
		c.Recommendation = fmt.Sprintf("the list price %s is %.1f%% below the CMA value (%s) and %.1f%% below the bottom of its range (%s): if the aim is to draw competing offers, confirm the seller accepts that the result depends on them; otherwise list at %s (at market)",
			numfmt.Dollars(*listPrice), math.Abs(*c.GapToValuePercent), numfmt.Dollars(r.EstimatedValue), math.Abs(outside), numfmt.Dollars(r.ValueLow), numfmt.Dollars(atMarket))
	case math.Abs(*c.GapToValuePercent) > farFromValuePercent:
		c.Status = WithinRange
		c.Recommendation = fmt.Sprintf("the list price %s is within the CMA range (%s to %s) but %+.1f%% from the value (%s): be ready to justify it with what the comps miss, and review it after the first two weeks of showings",
			numfmt.Dollars(*listPrice), numfmt.Dollars(r.ValueLow), numfmt.Dollars(r.ValueHigh), *c.GapToValuePercent, numfmt.Dollars(r.EstimatedValue))
	default:
		c.Status = WithinRange
		c.Recommendation = fmt.Sprintf("the list price %s is within the CMA range (%s to %s), %+.1f%% from the value: no change needed",
			numfmt.Dollars(*listPrice), numfmt.Dollars(r.ValueLow), numfmt.Dollars(r.ValueHigh), *c.GapToValuePercent)
	}
	c.GapToRangePercent = &outside
	return c
}

func optionPrice(opts []PricingOption, name string) int {
	for _, o := range opts {
		if o.Name == name {
			return o.Price
		}
	}
	return 0
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
