package analytics

import (
	"fmt"
	"math"
	"time"
)

// valuation is what features are measured against: the valuation date and
// the subject's position.
type valuation struct {
	asOf     time.Time
	lat, lng float64
}

// feature is something a comp can differ from the subject in. Its rate is
// the change in log price per unit of its (possibly log-transformed) value,
// fitted on nearby sales, so an adjustment is a percentage of the comp's
// price.
type feature struct {
	name string
	// raw returns the feature in its natural unit.
	raw func(h Home, v valuation) (float64, bool)
	// logScale fits the feature on a log scale: a rate then means "% of
	// price per 1% of the feature" (an elasticity).
	logScale bool
	// sign is the direction a sane rate takes: +1 for features buyers pay
	// more for, -1 for ones that lower prices, 0 when either is plausible.
	// A rate of the other sign is kept, and explained: it is a partial
	// effect, with the other features held fixed.
	sign int
	// unit names one step of the rate, for reports.
	unit string
	// describe explains a difference (subject minus comp) in raw units.
	describe func(diff float64) string
}

func (f feature) value(h Home, v valuation) (float64, bool) {
	x, ok := f.raw(h, v)
	if !ok {
		return 0, false
	}
	if f.logScale {
		if x <= 0 {
			return 0, false
		}
		return math.Log(x), true
	}
	return x, true
}

const (
	daysPerMonth = 30.44
	milesPerLat  = 69.0
)

var features = []feature{
	{
		name: "livingArea", logScale: true, sign: +1, unit: "1% more living area",
		raw: func(h Home, _ valuation) (float64, bool) { return intValue(h.Sqft) },
		describe: func(d float64) string {
			return fmt.Sprintf("subject has %s sq ft %s living area", fmtNum(math.Abs(d)), moreLess(d))
		},
	},
	{
		name: "beds", sign: 0, unit: "bedroom",
		raw: func(h Home, _ valuation) (float64, bool) { return intValue(h.Beds) },
		describe: func(d float64) string {
			return fmt.Sprintf("subject has %s %s bedroom%s", fmtNum(math.Abs(d)), moreFewer(d), plural(d))
		},
	},
	{
		name: "baths", sign: +1, unit: "bathroom",
		raw: func(h Home, _ valuation) (float64, bool) {
			if h.Baths == nil {
				return 0, false
			}
			return *h.Baths, true
		},
		describe: func(d float64) string {
			return fmt.Sprintf("subject has %s %s bathroom%s", fmtNum(math.Abs(d)), moreFewer(d), plural(d))
		},
	},
	{
		name: "age", sign: -1, unit: "year of age",
		raw: func(h Home, v valuation) (float64, bool) {
			if h.YearBuilt == nil {
				return 0, false
			}
			return float64(v.asOf.Year() - *h.YearBuilt), true
		},
		describe: func(d float64) string {
			return fmt.Sprintf("subject is %s year%s %s", fmtNum(math.Abs(d)), plural(d), olderNewer(d))
		},
	},
	{
		name: "lotSize", logScale: true, sign: +1, unit: "1% more lot",
		raw: func(h Home, _ valuation) (float64, bool) { return intValue(h.LotSqft) },
		describe: func(d float64) string {
			return fmt.Sprintf("subject's lot is %s sq ft %s", fmtNum(math.Abs(d)), largerSmaller(d))
		},
	},
	{
		name: "garage", sign: +1, unit: "garage space",
		raw: func(h Home, _ valuation) (float64, bool) { return intValue(h.GarageSpaces) },
		describe: func(d float64) string {
			return fmt.Sprintf("subject has %s %s garage space%s", fmtNum(math.Abs(d)), moreFewer(d), plural(d))
		},
	},
	{
		// Months from the sale to the valuation date; the subject is at 0.
		// Its fitted coefficient is per month *before* the valuation date:
		// in a rising market it is negative, and reports state its opposite,
		// the trend (see percentPerUnit).
		name: "marketTime", sign: 0, unit: "month (market trend)",
		raw: func(h Home, v valuation) (float64, bool) {
			if h.SaleDate == nil {
				return 0, false
			}
			return v.asOf.Sub(*h.SaleDate).Hours() / 24 / daysPerMonth, true
		},
		describe: func(d float64) string {
			return fmt.Sprintf("the %s months of market movement since the sale (a positive trend adjusts an older sale up)", fmtNum(math.Round(math.Abs(d)*10)/10))
		},
	},
	{
		// Position relative to the subject: the local price gradient, so
		// that a comp across a price boundary is adjusted for it.
		name: "locationNorth", sign: 0, unit: "mile north",
		raw: func(h Home, v valuation) (float64, bool) { return (h.Latitude - v.lat) * milesPerLat, true },
		describe: func(d float64) string {
			return fmt.Sprintf("comp lies %s miles %s of the subject", fmtNum(math.Round(math.Abs(d)*100)/100), map[bool]string{true: "south", false: "north"}[d > 0])
		},
	},
	{
		name: "locationEast", sign: 0, unit: "mile east",
		raw: func(h Home, v valuation) (float64, bool) {
			return (h.Longitude - v.lng) * milesPerLat * math.Cos(v.lat*math.Pi/180), true
		},
		describe: func(d float64) string {
			return fmt.Sprintf("comp lies %s miles %s of the subject", fmtNum(math.Round(math.Abs(d)*100)/100), map[bool]string{true: "west", false: "east"}[d > 0])
		},
	},
}

func intValue(p *int) (float64, bool) {
	if p == nil {
		return 0, false
	}
	return float64(*p), true
}

func fmtNum(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%g", v)
}

func moreLess(d float64) string      { return pick(d > 0, "more", "less") }
func moreFewer(d float64) string     { return pick(d > 0, "more", "fewer") }
func olderNewer(d float64) string    { return pick(d > 0, "older", "newer") }
func largerSmaller(d float64) string { return pick(d > 0, "larger", "smaller") }
func plural(d float64) string        { return pick(math.Abs(d) == 1, "", "s") }

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}
