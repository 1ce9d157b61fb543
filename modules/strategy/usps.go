package strategy

import (
	"github.com/estateflow/estateflow/internal/numfmt"

	"fmt"
	"math"
	"strings"

	"github.com/estateflow/estateflow/modules/analytics"
)

// Thresholds of a difference worth claiming: rooms and garage spaces in
// whole units (a median of 1.5 garage spaces against 2 is no advantage a
// buyer can see), area and lot in percent, age in years.
const (
	minLivingAreaGain = 0.05 // 5% more living area
	minLotGain        = 0.10 // 10% more lot
	minYearsNewer     = 5
	minWholeUnits     = 1 // bedrooms, bathrooms, garage spaces
)

// usps lists the subject's measurable advantages over the median comp. A
// count (rooms, garage) counts only as whole units: the difference is
// rounded down, and under one is no advantage. Each USP also carries its
// buyer copy: the fact about the home alone, with no comparison to comps.
func usps(in Input) []USP {
	out := []USP{}
	add := func(feature, claim, buyer string, subject, comps float64) {
		out = append(out, USP{Feature: feature, Claim: claim, BuyerCopy: buyer, Subject: &subject, Comps: &comps})
	}
	s := in.Subject
	median := func(get func(analytics.Home) (float64, bool)) (float64, bool) { return medianOf(in.Comps, get) }
	if sv, ok := intOf(s.Sqft); ok {
		if mv, ok := median(func(h analytics.Home) (float64, bool) { return intOf(h.Sqft) }); ok && mv > 0 && sv >= (1+minLivingAreaGain)*mv {
			add("livingArea", fmt.Sprintf("%.0f%% more living area than the median comp (%s vs %s sq ft)", (sv/mv-1)*100, numfmt.Thousands(int(sv)), numfmt.Thousands(int(math.Round(mv)))),
				fmt.Sprintf("%s sq ft of living space", numfmt.Thousands(int(sv))), sv, mv)
		}
	}
	if sv, ok := intOf(s.Beds); ok {
		if mv, ok := median(func(h analytics.Home) (float64, bool) { return intOf(h.Beds) }); ok {
			if n := wholeMore(sv, mv); n > 0 {
				add("beds", fmt.Sprintf("%d more %s than the median comp (%g vs %g)", n, noun(n, "bedroom", "bedrooms"), sv, mv),
					plural(int(sv), "bedroom", "bedrooms"), sv, mv)
			}
		}
	}
	if s.Baths != nil {
		if mv, ok := median(func(h analytics.Home) (float64, bool) {
			if h.Baths == nil {
				return 0, false
			}
			return *h.Baths, true
		}); ok {
			if n := wholeMore(*s.Baths, mv); n > 0 {
				add("baths", fmt.Sprintf("%d more %s than the median comp (%g vs %g)", n, noun(n, "bathroom", "bathrooms"), *s.Baths, mv),
					bathsCopy(*s.Baths), *s.Baths, mv)
			}
		}
	}
	if sv, ok := intOf(s.YearBuilt); ok {
		if mv, ok := median(func(h analytics.Home) (float64, bool) { return intOf(h.YearBuilt) }); ok && sv-mv >= minYearsNewer {
			add("yearBuilt", fmt.Sprintf("built %.0f years later than the median comp (%.0f vs %.0f)", sv-mv, sv, mv),
				fmt.Sprintf("Built in %.0f", sv), sv, mv)
		}
	}
	if sv, ok := intOf(s.LotSqft); ok {
		if mv, ok := median(func(h analytics.Home) (float64, bool) { return intOf(h.LotSqft) }); ok && mv > 0 && sv >= (1+minLotGain)*mv {
			add("lotSize", fmt.Sprintf("%.0f%% larger lot than the median comp (%s vs %s sq ft)", (sv/mv-1)*100, numfmt.Thousands(int(sv)), numfmt.Thousands(int(math.Round(mv)))),
				lotCopy(int(sv)), sv, mv)
		}
	}
	if sv, ok := intOf(s.GarageSpaces); ok {
		if mv, ok := median(func(h analytics.Home) (float64, bool) { return intOf(h.GarageSpaces) }); ok {
			if n := wholeMore(sv, mv); n > 0 {
				add("garage", fmt.Sprintf("%d more %s than the median comp (%g vs %g)", n, noun(n, "garage space", "garage spaces"), sv, mv),
					fmt.Sprintf("%.0f-car garage", sv), sv, mv)
			}
		}
	}
	for _, f := range in.Features {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, USP{Feature: "listedFeature", Claim: "listed feature: " + f, BuyerCopy: capitalize(f)})
		}
	}
	return out
}

// wholeMore is how many whole units subject has over the comps' median,
// rounded down; 0 when under one.
func wholeMore(subject, median float64) int {
	n := int(math.Floor(subject - median + 1e-9))
	if n < minWholeUnits {
		return 0
	}
	return n
}

// bathsCopy writes 2.5 baths as "2 full and 1 half bathrooms".
func bathsCopy(b float64) string {
	full := int(math.Floor(b))
	if b-float64(full) < 0.5 {
		return plural(full, "bathroom", "bathrooms")
	}
	return fmt.Sprintf("%d full and 1 half bathrooms", full)
}

// lotCopy writes the lot in square feet, and in acres from a quarter acre.
func lotCopy(sqft int) string {
	const acre = 43560
	if sqft >= acre/4 {
		return fmt.Sprintf("%.2f-acre lot (%s sq ft)", float64(sqft)/acre, numfmt.Thousands(sqft))
	}
	return fmt.Sprintf("%s sq ft lot", numfmt.Thousands(sqft))
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
