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

// salesSearch answers the widening searches of one CMA from as few
// queries as it can. The sales a query read for a radius and a look-back
// answer every narrower search too, filtered in memory exactly as the
// query filters them (box, sale date), so each search finds what its own
// query would have found; what is saved is reading the same sales again
// at every step of the widening. A CMA used to query up to a dozen times;
// finding sales was a quarter of a real New Listing's CPU.
type salesSearch struct {
	src     Source
	subject Home
	opts    Options
	homes   []Home // the sales read, for miles and months
	miles   float64
	months  int
	read    bool
}

func newSalesSearch(src Source, subject Home, opts Options) *salesSearch {
	return &salesSearch{src: src, subject: subject, opts: opts}
}

// covers reports whether the sales read answer a search within miles and
// months.
func (s *salesSearch) covers(miles float64, months int) bool {
	return s.read && miles <= s.miles && months <= s.months
}

// readAhead reads the sales within miles and months, and at least what was
// read before, unless they are read already. A wider radius over the same
// look-back reads only the ring it adds.
func (s *salesSearch) readAhead(ctx context.Context, miles float64, months int) error {
	if s.covers(miles, months) {
		return nil
	}
	q := SalesQuery{PropertyType: s.subject.PropertyType, ExcludeID: s.subject.ID}
	ring := false
	if s.read {
		miles, months = math.Max(miles, s.miles), max(months, s.months)
		if months == s.months {
			inner := boxAround(s.subject.Latitude, s.subject.Longitude, s.miles)
			q.Outside, ring = &inner, true
		}
	}
	asOf := *s.opts.AsOf
	after := asOf.AddDate(0, -months, 0)
	q.Box, q.SoldBefore, q.SoldAfter = boxAround(s.subject.Latitude, s.subject.Longitude, miles), &asOf, &after
	homes, err := s.src.Sales(ctx, q)
	if err != nil {
		return err
	}
	if ring {
		homes = append(s.homes, homes...)
	}
	s.homes, s.miles, s.months, s.read = homes, miles, months, true
	return nil
}

// within returns the usable sales within miles and months, nearest first.
func (s *salesSearch) within(ctx context.Context, miles float64, months int) ([]candidate, error) {
	if err := s.readAhead(ctx, miles, months); err != nil {
		return nil, err
	}
	// The query's own filters, for the narrower search.
	box := boxAround(s.subject.Latitude, s.subject.Longitude, miles)
	after := s.opts.AsOf.AddDate(0, -months, 0)
	out := make([]candidate, 0, len(s.homes))
	for _, h := range s.homes {
		if h.Latitude < box.MinLat || h.Latitude > box.MaxLat || h.Longitude < box.MinLng || h.Longitude > box.MaxLng ||
			(h.SaleDate != nil && h.SaleDate.Before(after)) {
			continue
		}
		if h.SalePrice == nil || h.Sqft == nil || (s.subject.ExternalRef != "" && h.ExternalRef == s.subject.ExternalRef) {
			continue
		}
		if d := haversineMiles(s.subject.Latitude, s.subject.Longitude, h.Latitude, h.Longitude); d <= miles {
			out = append(out, candidate{home: h, miles: d})
		}
	}
	slices.SortFunc(out, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(a.miles, b.miles), cmp.Compare(a.home.ID, b.home.ID))
	})
	return out, nil
}

// stepBounds is the radius and look-back of a search step, within the
// options' limits.
func stepBounds(opts Options, i int) (float64, int) {
	return math.Min(searchSteps[i].miles, opts.MaxRadiusMiles), min(searchSteps[i].months, opts.MaxLookbackMonths)
}

// readAheadBounds is what to read when step i is not covered, from the
// density of the last search (found sales within miles and months): the
// first step from i on that should hold want candidates with a margin,
// widened to the radius the market set would then need (marketSet), since
// that read follows anyway. Without a density yet, step i itself.
func readAheadBounds(opts Options, i, found int, miles float64, months, want int) (float64, int) {
	if found == 0 {
		return stepBounds(opts, i)
	}
	density := float64(found) / (miles * miles * float64(max(months, 1)))
	j := i
	for ; j < len(searchSteps)-1; j++ {
		m, mo := stepBounds(opts, j)
		if density*m*m*float64(max(mo, 1)) >= 1.5*float64(want) {
			break
		}
	}
	m, mo := stepBounds(opts, j)
	expected := math.Max(density*m*m*float64(max(mo, 1)), 1)
	market := m * math.Max(1, math.Sqrt(float64(marketSetSize)/expected)*1.1)
	return math.Min(market, 2*math.Max(m, opts.MaxRadiusMiles)), mo
}

// findCandidates widens the search until it finds enough comparable sales,
// or reports what was missing at the widest search.
func findCandidates(ctx context.Context, search *salesSearch) ([]candidate, float64, int, error) {
	opts := search.opts
	want := max(candidatePool*opts.MaxComps, valueCandidates)
	var (
		found  []candidate
		miles  float64
		months int
	)
	for i, step := range searchSteps {
		prevMiles, prevMonths := miles, months
		miles, months = stepBounds(opts, i)
		if !search.covers(miles, months) {
			aheadMiles, aheadMonths := readAheadBounds(opts, i, len(found), prevMiles, prevMonths, want)
			if err := search.readAhead(ctx, aheadMiles, aheadMonths); err != nil {
				return nil, 0, 0, err
			}
		}
		var err error
		found, err = search.within(ctx, miles, months)
		if err != nil {
			return nil, 0, 0, err
		}
		// A few times more candidates than comps leaves the scoring a
		// choice; the widest search settles for what there is.
		if len(found) >= want {
			return found, miles, months, nil
		}
		if step.miles >= opts.MaxRadiusMiles && step.months >= opts.MaxLookbackMonths {
			break
		}
	}
	if len(found) >= opts.MinComps {
		return found, miles, months, nil
	}
	return nil, 0, 0, &TooFewCompsError{Found: len(found), Needed: opts.MinComps, RadiusMiles: miles, LookbackMonths: months, PropertyType: search.subject.PropertyType}
}

// marketSet returns the nearest sales the adjustment rates are fitted on:
// a wider set than the comps, from the same market and time. The local fit
// weighs them by similarity; the area-wide fit, alike.
//
// The set is the marketSetSize sales nearest the subject within the widest
// reach (or all there are): whichever radius first holds that many, the
// nearest are the same. The radius grows by the density seen, so that one
// or two reads usually suffice.
func marketSet(ctx context.Context, search *salesSearch, radius float64, months, found int) ([]candidate, error) {
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
	widest := 2 * math.Max(radius, search.opts.MaxRadiusMiles)
	miles = math.Min(miles, widest)
	prev := -1
	for {
		set, err := search.within(ctx, miles, months)
		if err != nil {
			return nil, err
		}
		if len(set) >= marketSetSize || miles >= widest {
			if len(set) > marketSetSize {
				set = set[:marketSetSize]
			}
			return set, nil
		}
		// Grow by the density seen; a wider radius that found no more
		// sales says the market thins out, so go to the widest at once.
		grow := 2.0
		if len(set) > 0 {
			grow = math.Max(grow, math.Sqrt(float64(marketSetSize)/float64(len(set)))*1.1)
		}
		if len(set) == prev {
			grow = math.Inf(1)
		}
		prev = len(set)
		miles = math.Min(miles*grow, widest)
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
