package analytics

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
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

type candidate struct {
	home  Home
	miles float64
}

// findCandidates widens the search until it finds enough comparable sales,
// or reports what was missing at the widest search.
func findCandidates(ctx context.Context, src Source, subject Home, opts Options) ([]candidate, float64, int, error) {
	var (
		found  []candidate
		miles  float64
		months int
	)
	for _, step := range searchSteps {
		miles, months = math.Min(step.miles, opts.MaxRadiusMiles), min(step.months, opts.MaxLookbackMonths)
		var err error
		found, err = salesWithin(ctx, src, subject, opts, miles, months, 0)
		if err != nil {
			return nil, 0, 0, err
		}
		// A few times more candidates than comps leaves the scoring a
		// choice; the widest search settles for what there is.
		if len(found) >= candidatePool*opts.MaxComps {
			return found, miles, months, nil
		}
		if step.miles >= opts.MaxRadiusMiles && step.months >= opts.MaxLookbackMonths {
			break
		}
	}
	if len(found) >= opts.MinComps {
		return found, miles, months, nil
	}
	return nil, 0, 0, &TooFewCompsError{Found: len(found), Needed: opts.MinComps, RadiusMiles: miles, LookbackMonths: months, PropertyType: subject.PropertyType}
}

func salesWithin(ctx context.Context, src Source, subject Home, opts Options, miles float64, months, limit int) ([]candidate, error) {
	asOf := *opts.AsOf
	after := asOf.AddDate(0, -months, 0)
	homes, err := src.Sales(ctx, SalesQuery{
		Box:          boxAround(subject.Latitude, subject.Longitude, miles),
		PropertyType: subject.PropertyType,
		SoldBefore:   &asOf,
		SoldAfter:    &after,
		ExcludeID:    subject.ID,
		Limit:        limit,
	})
	if err != nil {
		return nil, err
	}
	out := make([]candidate, 0, len(homes))
	for _, h := range homes {
		if h.SalePrice == nil || h.Sqft == nil || (subject.ExternalRef != "" && h.ExternalRef == subject.ExternalRef) {
			continue
		}
		d := haversineMiles(subject.Latitude, subject.Longitude, h.Latitude, h.Longitude)
		if d <= miles {
			out = append(out, candidate{home: h, miles: d})
		}
	}
	slices.SortFunc(out, func(a, b candidate) int { return cmp.Compare(a.miles, b.miles) })
	return out, nil
}

// marketSet returns the nearest sales the adjustment rates are fitted on:
// a wider set than the comps, from the same market and time.
func marketSet(ctx context.Context, src Source, subject Home, opts Options, radius float64, months int) ([]candidate, error) {
	miles := math.Max(radius*2, 1)
	for {
		set, err := salesWithin(ctx, src, subject, opts, miles, months, 0)
		if err != nil {
			return nil, err
		}
		if len(set) >= marketSetSize || miles >= opts.MaxRadiusMiles {
			if len(set) > marketSetSize {
				set = set[:marketSetSize]
			}
			return set, nil
		}
		miles = math.Min(miles*2, opts.MaxRadiusMiles)
	}
}

func haversineMiles(lat1, lng1, lat2, lng2 float64) float64 {
	const earthMiles = 3958.8
	toRad := math.Pi / 180
	dLat := (lat2 - lat1) * toRad
	dLng := (lng2 - lng1) * toRad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*toRad)*math.Cos(lat2*toRad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthMiles * math.Asin(math.Min(1, math.Sqrt(a)))
}

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
