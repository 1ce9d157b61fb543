package analytics

import (
	"cmp"
	"context"
	"math"
	"slices"
)

// Finding comparable sales: the search widens in steps until it has
// enough, and the market set the rates are fitted on.

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
		if len(found) >= max(candidatePool*opts.MaxComps, valueCandidates) {
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
	slices.SortFunc(out, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(a.miles, b.miles), cmp.Compare(a.home.ID, b.home.ID))
	})
	return out, nil
}

// marketSet returns the nearest sales the adjustment rates are fitted on:
// a wider set than the comps, from the same market and time. The local fit
// weighs them by similarity; the area-wide fit, alike.
func marketSet(ctx context.Context, src Source, subject Home, opts Options, radius float64, months, found int) ([]candidate, error) {
	// The candidates tell the density of sales: start at the radius that
	// should hold the market set, so that one query usually suffices (a
	// wider one loads many rows only to drop them).
	miles := math.Max(radius, 0.5)
	if found > 0 {
		miles = math.Max(miles, radius*math.Sqrt(float64(marketSetSize)/float64(found))*1.05)
	}
	// The rates may come from farther than the comps: up to twice the
	// comp search's reach, so that a thin type's area-wide rates rest on
	// enough sales.
	widest := 2 * math.Max(radius, opts.MaxRadiusMiles)
	miles = math.Min(miles, widest)
	for {
		set, err := salesWithin(ctx, src, subject, opts, miles, months, 0)
		if err != nil {
			return nil, err
		}
		if len(set) >= marketSetSize || miles >= widest {
			if len(set) > marketSetSize {
				set = set[:marketSetSize]
			}
			return set, nil
		}
		miles = math.Min(miles*2, widest)
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
