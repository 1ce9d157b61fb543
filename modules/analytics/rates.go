package analytics

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
)

// The market rates: the value of each feature, fitted on the market set.
//
// Two fits share the market set. The area-wide fit weighs every sale alike
// and gives the prior rates and the market trend (the only place time
// enters: a per-subject time slope is noise). The local fit weighs each
// sale by how similar it is to the subject (near, and of a like size) and
// is pulled toward the area-wide rates by a ridge penalty, so a feature the
// similar sales say little about keeps the area's rate.

// rate is a fitted market rate for one feature: the change in log price
// per unit of the feature's (possibly log) value.
type rate struct {
	feature feature
	beta    float64
	prior   float64 // the area-wide rate the local one was pulled toward
	used    bool
	reason  string
}

const (
	// areaLambda is the area-wide fit's ridge penalty toward zero.
	areaLambda = 0.02
	// localLambda pulls the local rates toward the area-wide ones.
	localLambda = 0.15
	// thinLambda pulls harder where the similar sales are few.
	thinLambda = 1.0
	// sizeKernel is the difference in log living area at which a sale's
	// weight in the local fit falls to e^-½ (about ±30%).
	sizeKernel = 0.3
	// minBandwidthMiles is the narrowest distance kernel of the local fit.
	minBandwidthMiles = 0.25
	// bandwidthRank: the distance kernel reaches the rank-th nearest sale.
	bandwidthRank = 60
)

// deriveRates fits the value of each feature the subject has on the market
// set's own sales, with a log-price hedonic regression.
func deriveRates(subject Home, market []candidate, v valuation, thin bool) []rate {
	var (
		cols  []feature
		rates []rate
	)
	timeFeature := features[featureIndex("marketTime")]
	for _, f := range features {
		if f.name == "marketTime" {
			continue
		}
		if reason, ok := usable(f, subject, market, v); !ok {
			rates = append(rates, rate{feature: f, reason: reason})
			continue
		}
		cols = append(cols, f)
	}
	_, timeOK := usable(timeFeature, subject, market, v)

	var (
		x       [][]float64
		y       []float64
		months  []float64
		weights []float64
	)
	bandwidth := math.Max(minBandwidthMiles, market[min(bandwidthRank, len(market))-1].miles)
	subjectLogSqft := math.Log(float64(*subject.Sqft))
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
		if !complete {
			continue
		}
		m := 0.0
		if timeOK {
			m, _ = timeFeature.value(c.home, v)
		}
		x = append(x, row)
		y = append(y, math.Log(float64(*c.home.SalePrice)))
		months = append(months, m)
		dSize := (math.Log(float64(*c.home.Sqft)) - subjectLogSqft) / sizeKernel
		dMiles := c.miles / bandwidth
		weights = append(weights, math.Exp(-0.5*(dSize*dSize+dMiles*dMiles)))
	}

	// The area-wide fit: every sale alike, time included when it varies.
	prior := make([]float64, len(cols))
	var trend float64
	areaX := x
	if timeOK {
		areaX = make([][]float64, len(x))
		for i, row := range x {
			areaX[i] = append(slices.Clone(row), months[i])
		}
	}
	k := len(cols)
	if timeOK {
		k++
	}
	if k > 0 && len(y) >= k+5 {
		if coef, err := ridge(areaX, y, areaLambda); err == nil {
			copy(prior, coef[:len(cols)])
			if timeOK {
				trend = coef[len(cols)]
			}
		}
	}
	if timeOK {
		rates = append(rates, rate{feature: timeFeature, beta: trend, prior: trend, used: trend != 0,
			reason: fmt.Sprintf("area-wide market trend, fitted on the %d sales of the market set", len(y))})
	}

	// The local fit, on prices brought to the valuation date by the trend.
	var (
		coef   []float64
		fitErr error
	)
	if len(cols) > 0 && len(y) >= len(cols)+5 {
		local := make([]float64, len(y))
		for i := range y {
			local[i] = y[i] + trend*(0-months[i])
		}
		lambda := localLambda
		if thin {
			lambda = thinLambda
		}
		coef, fitErr = ridgeToward(x, local, weights, prior, lambda)
	}
	for j, f := range cols {
		r := rate{feature: f, prior: prior[j]}
		switch {
		case fitErr != nil:
			r.reason = fmt.Sprintf("the market rates could not be fitted (%v)", fitErr)
		case coef == nil:
			r.reason = fmt.Sprintf("too few nearby sales (%d) to fit market rates", len(y))
		default:
			r.beta, r.used = coef[j], true
			r.reason = fmt.Sprintf("fitted on %d nearby sales weighted by similarity, pulled toward the area-wide %+.2f%% per %s",
				len(y), percentPerUnit(f, prior[j]), f.unit)
			if f.sign > 0 && coef[j] < 0 || f.sign < 0 && coef[j] > 0 {
				r.reason += "; its sign is unexpected because the other features (living area above all) are held fixed: " +
					"among homes of the same size, this feature goes with lower prices here"
			}
		}
		rates = append(rates, r)
	}
	slices.SortStableFunc(rates, func(a, b rate) int { return cmp.Compare(featureIndex(a.feature.name), featureIndex(b.feature.name)) })
	return rates
}

// usable says whether a feature can enter the fit, or why not.
func usable(f feature, subject Home, market []candidate, v valuation) (string, bool) {
	if _, ok := subjectValue(f, subject, v); !ok {
		return "the subject does not have this figure", false
	}
	have := 0
	for _, c := range market {
		if _, ok := f.value(c.home, v); ok {
			have++
		}
	}
	if have < len(market)*8/10 || have < 8 {
		return fmt.Sprintf("only %d of %d nearby sales have this figure", have, len(market)), false
	}
	if !varies(f, market, v) {
		return "it does not vary among the nearby sales", false
	}
	return "", true
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
// feature, per 1% of it). The market trend is stated the way agents read
// it: positive when prices rise, so that older sales are adjusted up. (Its
// fitted coefficient is per month *before* the valuation date, the
// opposite sign.)
func percentPerUnit(f feature, beta float64) float64 {
	switch {
	case f.logScale:
		return beta
	case f.name == "marketTime":
		return -100 * beta
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
