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

const (
	// candidatePool is how many candidates per displayed comp the search
	// looks for, and valueCandidates the fewest it looks for in all.
	candidatePool   = 4
	valueCandidates = 80
	// valueComps is the most of the most similar comps the value is the
	// weighted median of; where sales are fewer, it takes one per
	// marketPerValueComp sales of the market set (in a small market, many
	// comps means comps from other neighbourhoods). The report shows the
	// best MaxComps of them in full and summarises the rest.
	valueComps         = 50
	marketPerValueComp = 16
	// marketSetSize is how many nearby sales the adjustment rates are
	// fitted on (weighted by similarity).
	marketSetSize = 400
	// thinMarket: with fewer sales than this in the market set, the type
	// is thin: the rates lean on the area-wide ones and the value on the
	// closest comps only.
	thinMarket = 60
	// Appraisal-review guidelines: a comp adjusted by more than 15% net or
	// 25% gross is not a close comparable.
	maxNetAdjustment   = 0.15
	maxGrossAdjustment = 0.25
)

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

	if cs, ok := src.(calibrationSource); ok && opts.Calibration == nil && !opts.ignoreStoredCalibration {
		cal, err := cs.Calibration(ctx)
		if err != nil {
			return nil, err
		}
		opts.Calibration = cal
	}

	progress(0.05, "searching comparable sales")
	search := newSalesSearch(src, subject, opts)
	cands, radius, months, err := findCandidates(ctx, search)
	if err != nil {
		return nil, err
	}
	progress(0.35, fmt.Sprintf("found %d candidate sales within %.1f miles", len(cands), radius))

	market, err := marketSet(ctx, search, radius, months, len(cands))
	if err != nil {
		return nil, err
	}
	if len(market) == 0 {
		market = cands
	}
	thin := len(market) < thinMarket || subject.PropertyType == "MULTI_FAMILY"
	progress(0.55, fmt.Sprintf("deriving adjustment rates from %d nearby sales", len(market)))
	v := valuation{asOf: asOf, lat: subject.Latitude, lng: subject.Longitude}
	rates := deriveRates(subject, market, v, thin)

	progress(0.75, fmt.Sprintf("scoring %d candidates", len(cands)))
	comps := scoreComps(subject, cands, rates, v)
	used := max(opts.MaxComps, min(valueComps, len(market)/marketPerValueComp))
	if thin {
		// Thin types: the regression is weak, and the closest same-type
		// comps do better than many distant ones.
		used = opts.MaxComps
	}
	report := buildReport(subject, comps[:min(used, len(comps))], rates, v, radius, months, len(cands), opts)
	report.Market = saleToList(cands)
	report.WeakSegments = weakSegments(subject, report, market, thin, radius)
	report.ListingNote = listingNote(subject, report)

	progress(0.9, "reading the market context")
	box := boxAround(subject.Latitude, subject.Longitude, radius)
	if report.Market.ActiveListings, err = src.ActiveListings(ctx, box, subject.PropertyType); err != nil {
		return nil, err
	}
	progress(1, fmt.Sprintf("valued at %d from %d comps", report.EstimatedValue, report.ValueCompCount))
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

// adjust applies the market rates to one comp: its price times
// exp(Σ rate × (subject − comp)), each feature's share of the change in
// proportion to its log-price term.
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

// outlier applies the appraisal-review rule to a comp's net and gross
// adjustments (fractions of its price) and says why it fails, if it does.
func outlier(net, gross float64) string {
	switch {
	case math.Abs(net) > maxNetAdjustment:
		return fmt.Sprintf("net adjustment %+.0f%% exceeds ±%.0f%%", 100*net, 100*maxNetAdjustment)
	case gross > maxGrossAdjustment:
		return fmt.Sprintf("gross adjustment %.0f%% exceeds %.0f%%", 100*gross, 100*maxGrossAdjustment)
	}
	return ""
}

// scoreComps adjusts every candidate to the subject and sorts them by
// similarity, most similar first.
func scoreComps(subject Home, cands []candidate, rates []rate, v valuation) []Comp {
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
		price := float64(*h.SalePrice)
		comps = append(comps, Comp{
			PropertyID: h.ID, ExternalRef: h.ExternalRef, Address: h.Address, Zip: h.Zip, DistanceMiles: round2(c.miles),
			SalePrice: *h.SalePrice, SaleDate: h.SaleDate, Sqft: h.Sqft, Beds: h.Beds, Baths: h.Baths,
			Adjustments: adjs, AdjustedPrice: int(math.Round(adjusted)), Similarity: 1 / (1 + score),
			NetAdjustment: round4(adjusted/price - 1), GrossAdjustment: round4(gross),
			OutlierReason: outlier(adjusted/price-1, gross),
		})
	}
	slices.SortStableFunc(comps, func(a, b Comp) int { return cmp.Compare(b.Similarity, a.Similarity) })
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

// minSpread is the least disagreement a value is credited with: even
// identical adjusted prices do not make a value exact.
const minSpread = 0.02

// compSpread is how much the comps disagree: the weighted median absolute
// deviation of their log adjusted prices around the value, scaled to a
// standard deviation.
func compSpread(comps []Comp, est float64) float64 {
	dev := make([]Comp, len(comps))
	for i, c := range comps {
		dev[i] = Comp{Weight: c.Weight, AdjustedPrice: int(math.Round(1e6 * math.Abs(math.Log(float64(c.AdjustedPrice)/est))))}
	}
	return math.Max(minSpread, 1.4826*weightedQuantile(dev, 0.5)/1e6)
}

// buildReport values the subject from comps (sorted by similarity), shows
// the best opts.MaxComps that pass the outlier rule and summarises the rest.
func buildReport(subject Home, comps []Comp, rates []rate, v valuation, radius float64, months, considered int, opts Options) *Report {
	var total float64
	for _, c := range comps {
		total += c.Similarity * c.Similarity
	}
	for i := range comps {
		comps[i].Weight = round4(comps[i].Similarity * comps[i].Similarity / total)
		comps[i].Similarity = round4(comps[i].Similarity)
	}
	est := weightedQuantile(comps, 0.5)
	spread := compSpread(comps, est)
	r := &Report{
		SubjectID: subject.ID, AsOf: v.asOf,
		EstimatedValue:       roundTo(est, 1000),
		SearchRadiusMiles:    radius,
		CandidatesConsidered: considered,
		ValueCompCount:       len(comps),
		CompSpread:           round4(spread),
		Comps:                []Comp{},
	}
	var rest, flagged []Comp
	for _, c := range comps {
		switch {
		case c.OutlierReason != "":
			r.FlaggedComps++
			flagged = append(flagged, c)
		case len(r.Comps) < opts.MaxComps:
			r.Comps = append(r.Comps, c)
		default:
			rest = append(rest, c)
		}
	}
	// A report shows at least MinComps comps: where too few pass the
	// outlier rule, the least adjusted of the flagged ones fill in, each
	// still carrying its OutlierReason.
	slices.SortStableFunc(flagged, func(a, b Comp) int { return cmp.Compare(a.GrossAdjustment, b.GrossAdjustment) })
	for len(r.Comps) < min(opts.MinComps, opts.MaxComps) && len(flagged) > 0 {
		r.Comps = append(r.Comps, flagged[0])
		flagged = flagged[1:]
	}
	rest = append(rest, flagged...)
	if len(rest) > 0 {
		r.OtherComps = &CompSummary{
			Count:           len(rest),
			Weight:          0,
			MedianAdjusted:  roundTo(weightedQuantile(rest, 0.5), 1000),
			Low:             roundTo(weightedQuantile(rest, 0.1), 1000),
			High:            roundTo(weightedQuantile(rest, 0.9), 1000),
			FlaggedOutliers: r.FlaggedComps,
		}
		for _, c := range rest {
			r.OtherComps.Weight += c.Weight
		}
		r.OtherComps.Weight = round4(r.OtherComps.Weight)
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
	applyRange(r, est, spread, len(comps), radius, opts.Calibration)
	for _, rt := range rates {
		r.MarketRates = append(r.MarketRates, MarketRate{
			Feature: rt.feature.name, PercentPerUnit: round4(percentPerUnit(rt.feature, rt.beta)),
			AreaPercentPerUnit: round4(percentPerUnit(rt.feature, rt.prior)),
			Unit:               rt.feature.unit, Used: rt.used, Reason: rt.reason,
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
