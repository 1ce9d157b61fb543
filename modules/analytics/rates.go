package analytics

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
)

// The market rates: the value of each feature, fitted on the market set.

// rate is a fitted market rate for one feature: the change in log price
// per unit of the feature's (possibly log) value.
type rate struct {
	feature feature
	beta    float64
	used    bool
	reason  string
}

// ridgeLambda is the ridge penalty, relative to the number of sales.
const ridgeLambda = 0.05

// deriveRates fits the value of each feature the subject has on the market
// set's own sales, with a log-price hedonic regression.
func deriveRates(subject Home, market []candidate, v valuation) []rate {
	var (
		cols  []feature
		rates []rate
	)
	for _, f := range features {
		if _, ok := subjectValue(f, subject, v); !ok {
			rates = append(rates, rate{feature: f, reason: "the subject does not have this figure"})
			continue
		}
		have := 0
		for _, c := range market {
			if _, ok := f.value(c.home, v); ok {
				have++
			}
		}
		if have < len(market)*8/10 || have < 8 {
			rates = append(rates, rate{feature: f, reason: fmt.Sprintf("only %d of %d nearby sales have this figure", have, len(market))})
			continue
		}
		if !varies(f, market, v) {
			rates = append(rates, rate{feature: f, reason: "it does not vary among the nearby sales"})
			continue
		}
		cols = append(cols, f)
	}
	var (
		x [][]float64
		y []float64
	)
	for _, c := range market {
		row := make([]float64, len(cols))
		complete := true
		for j, f := range cols {
			val, ok := f.value(c.home, v)
			if !ok {
				complete = false
				break
			}
			row[j] = val
		}
		if complete {
			x = append(x, row)
			y = append(y, math.Log(float64(*c.home.SalePrice)))
		}
	}
	var (
		coef   []float64
		fitErr error
	)
	if len(cols) > 0 && len(y) >= len(cols)+5 {
		coef, fitErr = ridge(x, y, ridgeLambda)
	}
	for j, f := range cols {
		r := rate{feature: f}
		switch {
		case fitErr != nil:
			r.reason = fmt.Sprintf("the market rates could not be fitted (%v)", fitErr)
		case coef == nil:
			r.reason = fmt.Sprintf("too few nearby sales (%d) to fit market rates", len(y))
		case f.sign > 0 && coef[j] <= 0, f.sign < 0 && coef[j] >= 0:
			r.beta = coef[j]
			r.reason = fmt.Sprintf("nearby sales show no reliable effect (fitted %+.2f%% per %s, an implausible sign)", percentPerUnit(f, coef[j]), f.unit)
		default:
			r.beta, r.used = coef[j], true
			r.reason = fmt.Sprintf("fitted on %d nearby sales", len(y))
		}
		rates = append(rates, r)
	}
	slices.SortStableFunc(rates, func(a, b rate) int { return cmp.Compare(featureIndex(a.feature.name), featureIndex(b.feature.name)) })
	return rates
}

// varies reports whether a feature takes more than one value in the market.
func varies(f feature, market []candidate, v valuation) bool {
	first, seen := 0.0, false
	for _, c := range market {
		x, ok := f.value(c.home, v)
		if !ok {
			continue
		}
		if seen && x != first {
			return true
		}
		first, seen = x, true
	}
	return false
}

// percentPerUnit states a rate as a percentage of price per unit (for a log
// feature, per 1% of it).
func percentPerUnit(f feature, beta float64) float64 {
	if f.logScale {
		return beta
	}
	return 100 * beta
}

func featureIndex(name string) int {
	return slices.IndexFunc(features, func(f feature) bool { return f.name == name })
}

// subjectValue is the subject's side of a feature: it is valued as of now,
// and location is measured from it.
func subjectValue(f feature, subject Home, v valuation) (float64, bool) {
	switch f.name {
	case "marketTime", "locationNorth", "locationEast":
		return 0, true
	}
	return f.value(subject, v)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
