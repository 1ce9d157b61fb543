package analytics

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/estateflow/estateflow/ent/property"
)

// countingSource counts the queries for sales.
type countingSource struct {
	Source
	sales int
	reads []string // radius and look-back of each query, for a failure message
}

func (c *countingSource) Sales(ctx context.Context, q SalesQuery) ([]Home, error) {
	c.sales++
	homes, err := c.Source.Sales(ctx, q)
	c.reads = append(c.reads, fmt.Sprintf("%.1f mi/%s: %d", (q.Box.MaxLat-q.Box.MinLat)*69/2, q.SoldBefore.Sub(*q.SoldAfter).Round(24*time.Hour), len(homes)))
	return homes, err
}

// searchOnce is the search as it was: one query per step of the widening,
// then one per radius of the market set, doubling from the radius the
// candidates' density suggests.
func searchOnce(ctx context.Context, src Source, subject Home, opts Options) (cands []candidate, radius float64, months int, market []candidate, err error) {
	fresh := func(miles float64, months int) ([]candidate, error) {
		return newSalesSearch(src, subject, opts).within(ctx, miles, months)
	}
	want := max(candidatePool*opts.MaxComps, valueCandidates)
	for i, step := range searchSteps {
		radius, months = stepBounds(opts, i)
		if cands, err = fresh(radius, months); err != nil {
			return
		}
		if len(cands) >= want || (step.miles >= opts.MaxRadiusMiles && step.months >= opts.MaxLookbackMonths) {
			break
		}
	}
	miles := math.Max(radius, 0.5)
	if len(cands) > 0 {
		miles = math.Max(miles, radius*math.Sqrt(float64(marketSetSize)/float64(len(cands)))*1.05)
	}
	widest := 2 * math.Max(radius, opts.MaxRadiusMiles)
	for miles = math.Min(miles, widest); ; miles = math.Min(miles*2, widest) {
		if market, err = fresh(miles, months); err != nil {
			return
		}
		if len(market) >= marketSetSize || miles >= widest {
			break
		}
	}
	if len(market) > marketSetSize {
		market = market[:marketSetSize]
	}
	return
}

// TestSearchReadsAheadAndFindsWhatEachQueryWould: in markets of several
// densities, with dated and undated sales, the search settles on the same
// step, with the same candidates, and the same market set as one query per
// search would, in fewer queries.
func TestSearchReadsAheadAndFindsWhatEachQueryWould(t *testing.T) {
	t.Parallel()
	asOf := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		sales    int     // same-type sales
		reach    float64 // spread over this many miles
		dated    float64 // share with a sale date, spread over 5 years
		maxReads int
	}{
		{"dense and dated", 600, 3, 1, 5},
		{"sparse and dated", 300, 25, 1, 4},
		{"undated", 200, 4, 0, 6},
		{"mixed", 400, 12, 0.5, 7},
		{"thin", 40, 30, 1, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newMarket(t)
			rng := rand.New(rand.NewPCG(uint64(tc.sales), 7))
			for range tc.sales {
				var sold *time.Time
				if rng.Float64() < tc.dated {
					d := asOf.AddDate(0, 0, -rng.IntN(5*365))
					sold = &d
				}
				m.sale(tc.reach*rng.Float64(), property.PropertyTypeSINGLE_FAMILY, 1200+rng.IntN(1500), 200000+rng.IntN(400000), sold)
			}
			m.sale(0.2, property.PropertyTypeCONDO, 900, 250000, nil) // another type
			opts := Options{MinComps: 3, MaxComps: 6, AsOf: &asOf}.withDefaults(asOf)
			subject := subjectHome()

			before := &countingSource{Source: EntSource{Client: m.db}}
			want, wantRadius, wantMonths, wantMarket, err := searchOnce(m.ctx, before, subject, opts)
			if err != nil {
				t.Fatal(err)
			}
			src := &countingSource{Source: EntSource{Client: m.db}}
			search := newSalesSearch(src, subject, opts)
			got, radius, months, err := findCandidates(m.ctx, search)
			if err != nil {
				t.Fatal(err)
			}
			market, err := marketSet(m.ctx, search, radius, months, len(got))
			if err != nil {
				t.Fatal(err)
			}
			if radius != wantRadius || months != wantMonths {
				t.Fatalf("settled at %.1f miles and %d months, want %.1f and %d", radius, months, wantRadius, wantMonths)
			}
			if fmt.Sprint(ids(got)) != fmt.Sprint(ids(want)) {
				t.Fatalf("candidates %v, want %v", ids(got), ids(want))
			}
			if fmt.Sprint(ids(market)) != fmt.Sprint(ids(wantMarket)) {
				t.Fatalf("market set of %d, want the %d of one query", len(market), len(wantMarket))
			}
			t.Logf("%d queries (%v), against %d (%v): %d candidates within %.1f miles and %d months, a market set of %d",
				src.sales, src.reads, before.sales, before.reads, len(got), radius, months, len(market))
			if src.sales > tc.maxReads || src.sales >= before.sales {
				t.Errorf("%d queries, want at most %d and fewer than one per search (%d)", src.sales, tc.maxReads, before.sales)
			}
		})
	}
}

func ids(cs []candidate) []int {
	out := make([]int, len(cs))
	for i, c := range cs {
		out[i] = c.home.ID
	}
	return out
}
