package analytics

import (
	"fmt"
	"math"
	"sort"
)

const (
	// oldHomeYears: homes at least this old are valued less well (their
	// condition, which no column records, varies most).
	oldHomeYears = 60
	// wideSearchMiles: a search past this radius compares other markets.
	wideSearchMiles = 3
)

// weakSegments names where the subject falls where the method is weak, in
// words an agent can pass on.
func weakSegments(subject Home, r *Report, market []candidate, thin bool, radius float64) []string {
	out := []string{}
	if thin {
		out = append(out, fmt.Sprintf("thin type: only %d %s sales in the market set; the value is the median of the closest same-type comps and the rates lean on the area-wide ones",
			len(market), subject.PropertyType))
	}
	prices := make([]float64, len(market))
	for i, c := range market {
		prices[i] = float64(*c.home.SalePrice)
	}
	sort.Float64s(prices)
	if len(prices) >= 10 {
		est := float64(r.EstimatedValue)
		switch {
		case est <= quantile(prices, 0.1):
			out = append(out, "price extreme: the value is in the lowest tenth of nearby prices, where CMAs tend to value too high")
		case est >= quantile(prices, 0.9):
			out = append(out, "price extreme: the value is in the highest tenth of nearby prices, where CMAs tend to value too low")
		}
	}
	if subject.YearBuilt != nil && r.AsOf.Year()-*subject.YearBuilt >= oldHomeYears {
		out = append(out, fmt.Sprintf("old home: built in %d; condition, which the data does not record, matters most for old homes", *subject.YearBuilt))
	}
	if radius > wideSearchMiles {
		out = append(out, fmt.Sprintf("wide search: comps came from up to %.0f miles away, which may be another market", radius))
	}
	return out
}

// listingNote says when the subject's list price lies outside the range.
func listingNote(subject Home, r *Report) string {
	if subject.ListPrice == nil || *subject.ListPrice <= 0 {
		return ""
	}
	lp := float64(*subject.ListPrice)
	switch {
	case lp > float64(r.ValueHigh):
		return fmt.Sprintf("the list price %d is %.1f%% above the top of the 80%% range (%d)", *subject.ListPrice, 100*(lp/float64(r.ValueHigh)-1), r.ValueHigh)
	case lp < float64(r.ValueLow):
		return fmt.Sprintf("the list price %d is %.1f%% below the bottom of the 80%% range (%d)", *subject.ListPrice, 100*math.Abs(lp/float64(r.ValueLow)-1), r.ValueLow)
	}
	return ""
}
