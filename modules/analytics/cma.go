package analytics

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// TooFewCompsError says that the market around a subject has too few
// comparable sales to value it. Retrying does not help.
type TooFewCompsError struct {
	Found, Needed  int
	RadiusMiles    float64
	LookbackMonths int
	PropertyType   string
}

func (e *TooFewCompsError) Error() string {
	return fmt.Sprintf("too few comparable sales: found %d %s sale(s) within %.1f miles and %d months before the valuation date, need at least %d",
		e.Found, e.PropertyType, e.RadiusMiles, e.LookbackMonths, e.Needed)
}

// ErrNoLivingArea is returned for a subject without living area, which
// every comparison needs.
var ErrNoLivingArea = errors.New("the subject has no living area (sqft): a CMA cannot compare it")

// searchSteps widens the comp search: radius first, then time.
var searchSteps = []struct {
	miles  float64
	months int
}{
	{0.5, 6}, {1, 6}, {1, 12}, {2, 12}, {2, 24}, {3, 24}, {5, 36}, {10, 36}, {20, 60},
}

// candidatePool is how many candidates per comp the search looks for.
const candidatePool = 4

// marketSetSize is how many nearby sales the adjustment rates are fitted on.
const marketSetSize = 200

// Value runs a CMA for subject. progress, if not nil, hears how far it got.
func Value(ctx context.Context, src Source, subject Home, opts Options, progress func(float64, string)) (*Report, error) {
	if progress == nil {
		progress = func(float64, string) {}
	}
	opts = opts.withDefaults(time.Now().UTC())
	asOf := *opts.AsOf
	if subject.Sqft == nil || *subject.Sqft <= 0 {
		return nil, ErrNoLivingArea
	}

	progress(0.05, "searching comparable sales")
	cands, radius, months, err := findCandidates(ctx, src, subject, opts)
	if err != nil {
		return nil, err
	}
	progress(0.35, fmt.Sprintf("found %d candidate sales within %.1f miles", len(cands), radius))

	market, err := marketSet(ctx, src, subject, opts, radius, months)
	if err != nil {
		return nil, err
	}
	progress(0.55, fmt.Sprintf("deriving adjustment rates from %d nearby sales", len(market)))
	v := valuation{asOf: asOf, lat: subject.Latitude, lng: subject.Longitude}
	rates := deriveRates(subject, market, v)

	progress(0.75, fmt.Sprintf("scoring %d candidates", len(cands)))
	comps := scoreComps(subject, cands, rates, v, opts.MaxComps)
	report := buildReport(subject, comps, rates, v, radius, months, len(cands))
	report.Market = saleToList(cands)

	progress(0.9, "reading the market context")
	box := boxAround(subject.Latitude, subject.Longitude, radius)
	if report.Market.ActiveListings, err = src.ActiveListings(ctx, box, subject.PropertyType); err != nil {
		return nil, err
	}
	progress(1, fmt.Sprintf("valued at %d from %d comps", report.EstimatedValue, len(report.Comps)))
	return report, nil
}

// Scoring weights: lower scores are more similar. Differences in rooms are
// not scored on their own: they already count through the gross adjustment.
const (
	scoreMilesScale   = 2.0 // one score point per 2 miles
	scoreSizeWeight   = 2.0 // per 100% difference in living area
	scoreAdjustWeight = 1.5 // per 100% of gross adjustment
	scoreOtherZip     = 0.5 // a comp in another ZIP code
	scoreYearsWeight  = 1.0 // per year since the sale
)

// adjust applies the market rates to one comp.
func adjust(subject Home, h Home, rates []rate, v valuation) (adjusted float64, adjs []Adjustment, gross float64) {
	price := float64(*h.SalePrice)
	type term struct {
		r    rate
		diff float64
		logp float64
	}
	var (
		terms []term
		total float64
	)
	for _, r := range rates {
		if !r.used {
			continue
		}
		sv, _ := subjectValue(r.feature, subject, v)
		cv, ok := r.feature.value(h, v)
		if !ok || sv == cv {
			continue
		}
		t := term{r: r, logp: r.beta * (sv - cv)}
		rs, _ := r.feature.raw(subject, v)
		if subjectIsOrigin(r.feature.name) {
			rs = 0
		}
		rc, _ := r.feature.raw(h, v)
		t.diff = rs - rc
		terms = append(terms, t)
		total += t.logp
	}
	adjusted = price * math.Exp(total)
	adjs = []Adjustment{}
	for _, t := range terms {
		// The adjustment is multiplicative; each feature gets its share of
		// the total in proportion to its log-price term.
		amount := price * t.logp
		if math.Abs(total) > 1e-9 {
			amount = (adjusted - price) * t.logp / total
		}
		gross += math.Abs(amount)
		adjs = append(adjs, Adjustment{
			Feature: t.r.feature.name,
			Amount:  int(math.Round(amount)),
			Percent: round2(100 * t.logp),
			Reason: fmt.Sprintf("%s, at %+.2f%% per %s", t.r.feature.describe(t.diff),
				percentPerUnit(t.r.feature, t.r.beta), t.r.feature.unit),
		})
	}
	return adjusted, adjs, gross / price
}

func subjectIsOrigin(name string) bool {
	return name == "marketTime" || name == "locationNorth" || name == "locationEast"
}

// scoreComps adjusts every candidate to the subject, scores its similarity
// and keeps the best.
func scoreComps(subject Home, cands []candidate, rates []rate, v valuation, keep int) []Comp {
	subjectSqft := float64(*subject.Sqft)
	comps := make([]Comp, 0, len(cands))
	for _, c := range cands {
		h := c.home
		adjusted, adjs, gross := adjust(subject, h, rates, v)
		score := c.miles/scoreMilesScale + scoreSizeWeight*math.Abs(float64(*h.Sqft)-subjectSqft)/subjectSqft + scoreAdjustWeight*gross
		if subject.Zip != "" && h.Zip != subject.Zip {
			score += scoreOtherZip
		}
		if h.SaleDate != nil {
			score += scoreYearsWeight * v.asOf.Sub(*h.SaleDate).Hours() / 24 / 365
		}
		comps = append(comps, Comp{
			PropertyID: h.ID, ExternalRef: h.ExternalRef, Address: h.Address, Zip: h.Zip, DistanceMiles: round2(c.miles),
			SalePrice: *h.SalePrice, SaleDate: h.SaleDate, Sqft: h.Sqft, Beds: h.Beds, Baths: h.Baths,
			Adjustments: adjs, AdjustedPrice: int(math.Round(adjusted)), Similarity: 1 / (1 + score),
		})
	}
	slices.SortStableFunc(comps, func(a, b Comp) int { return cmp.Compare(b.Similarity, a.Similarity) })
	if len(comps) > keep {
		comps = comps[:keep]
	}
	var total float64
	for _, c := range comps {
		total += c.Similarity * c.Similarity
	}
	for i := range comps {
		comps[i].Weight = round4(comps[i].Similarity * comps[i].Similarity / total)
		comps[i].Similarity = round4(comps[i].Similarity)
	}
	return comps
}

// weightedQuantile returns the q-quantile of the comps' adjusted prices,
// each counted with its weight.
func weightedQuantile(comps []Comp, q float64) float64 {
	sorted := slices.Clone(comps)
	slices.SortFunc(sorted, func(a, b Comp) int { return cmp.Compare(a.AdjustedPrice, b.AdjustedPrice) })
	var total float64
	for _, c := range sorted {
		total += c.Weight
	}
	var acc float64
	for _, c := range sorted {
		acc += c.Weight
		if acc >= q*total-1e-12 {
			return float64(c.AdjustedPrice)
		}
	}
	return float64(sorted[len(sorted)-1].AdjustedPrice)
}

func buildReport(subject Home, comps []Comp, rates []rate, v valuation, radius float64, months, considered int) *Report {
	est := weightedQuantile(comps, 0.5)
	var mean, wsum float64
	for _, c := range comps {
		mean += c.Weight * float64(c.AdjustedPrice)
		wsum += c.Weight
	}
	mean /= wsum
	var variance float64
	for _, c := range comps {
		d := float64(c.AdjustedPrice) - mean
		variance += c.Weight * d * d / wsum
	}
	cv := math.Sqrt(variance) / est
	// The range is the middle 60% of the weighted adjusted prices, and at
	// least ±3% of the value.
	low := math.Min(weightedQuantile(comps, 0.2), 0.97*est)
	high := math.Max(weightedQuantile(comps, 0.8), 1.03*est)
	r := &Report{
		SubjectID: subject.ID, AsOf: v.asOf,
		EstimatedValue:       roundTo(est, 1000),
		ValueLow:             roundTo(low, 1000),
		ValueHigh:            roundTo(high, 1000),
		SearchRadiusMiles:    radius,
		CandidatesConsidered: considered,
		Comps:                comps,
	}
	if hasDates(comps) {
		r.LookbackMonths = &months
	}
	var ppsf []float64
	for _, c := range comps {
		if c.Sqft != nil && *c.Sqft > 0 {
			ppsf = append(ppsf, float64(c.SalePrice)/float64(*c.Sqft))
		}
	}
	if m := median(ppsf); m > 0 {
		m = round2(m)
		r.MedianPricePerSqft = &m
	}
	r.Confidence, r.ConfidenceReason = confidence(len(comps), cv, radius)
	for _, rt := range rates {
		r.MarketRates = append(r.MarketRates, MarketRate{
			Feature: rt.feature.name, PercentPerUnit: round4(percentPerUnit(rt.feature, rt.beta)),
			Unit: rt.feature.unit, Used: rt.used, Reason: rt.reason,
		})
	}
	return r
}

func hasDates(comps []Comp) bool {
	for _, c := range comps {
		if c.SaleDate != nil {
			return true
		}
	}
	return false
}

// confidence grades a value by how many comps support it, how much their
// adjusted prices agree, and how far the search had to go.
func confidence(n int, cv, radius float64) (string, string) {
	why := fmt.Sprintf("%d comps within %.1f miles whose adjusted prices spread ±%.0f%%", n, radius, cv*100)
	switch {
	case n >= 6 && cv <= 0.08 && radius <= 1:
		return "HIGH", why
	case n >= 4 && cv <= 0.15 && radius <= 3:
		return "MEDIUM", why
	default:
		return "LOW", why
	}
}

func roundTo(v float64, step int) int { return int(math.Round(v/float64(step))) * step }
func round2(v float64) float64        { return math.Round(v*100) / 100 }
func round4(v float64) float64        { return math.Round(v*10000) / 10000 }

// saleToList is the median sale-to-list price ratio of the nearby sales
// whose list price is known.
func saleToList(cands []candidate) MarketContext {
	var ratios []float64
	for _, c := range cands {
		if c.home.ListPrice != nil && *c.home.ListPrice > 0 {
			ratios = append(ratios, float64(*c.home.SalePrice)/float64(*c.home.ListPrice))
		}
	}
	m := MarketContext{SalesWithListPrice: len(ratios)}
	if len(ratios) > 0 {
		r := round4(median(ratios))
		m.SaleToListRatio = &r
	}
	return m
}
