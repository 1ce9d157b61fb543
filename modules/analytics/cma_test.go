package analytics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/tenant"
)

// market is a test organization whose properties sit at known distances
// north of a subject at (30, -97).
type market struct {
	t   *testing.T
	ctx context.Context
	db  *ent.Client
	n   int
}

func newMarket(t *testing.T) *market {
	t.Helper()
	db := testdb.Open(t, database.Options{})
	org, err := db.Client.Organization.Create().SetName("M").SetSlug("m").Save(tenant.SystemContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return &market{t: t, db: db.Client, ctx: tenant.NewContext(context.Background(), tenant.Viewer{OrgID: org.ID})}
}

const subjectLat, subjectLng = 30.0, -97.0

// sale adds a sold home the given miles north of the subject.
func (m *market) sale(miles float64, typ property.PropertyType, sqft, price int, soldAt *time.Time) *ent.Property {
	m.t.Helper()
	m.n++
	p, err := m.db.Property.Create().SetCity("Austin").SetZip("78704").SetExternalRef(fmt.Sprintf("s%d", m.n)).
		SetLatitude(subjectLat + miles/milesPerLat).SetLongitude(subjectLng).
		SetPropertyType(typ).SetSqft(sqft).SetBeds(3).SetBaths(2).
		SetStatus(property.StatusSOLD).SetSalePrice(price).SetNillableSaleDate(soldAt).Save(m.ctx)
	if err != nil {
		m.t.Fatal(err)
	}
	return p
}

func (m *market) value(subject Home, opts Options) (*Report, error) {
	return Value(m.ctx, EntSource{Client: m.db}, subject, opts, nil)
}

func subjectHome() Home {
	return Home{ID: -1, Latitude: subjectLat, Longitude: subjectLng, PropertyType: "SINGLE_FAMILY", Zip: "78704",
		Sqft: new(1500), Beds: new(3), Baths: new(2.0)}
}

func TestSearchWidensUntilEnoughCandidates(t *testing.T) {
	t.Parallel()
	m := newMarket(t)
	// 30 sales within half a mile, 30 more within a mile, 30 more at 1.8
	// miles.
	for range 30 {
		m.sale(0.3, property.PropertyTypeSINGLE_FAMILY, 1500, 300000, nil)
	}
	for range 30 {
		m.sale(0.8, property.PropertyTypeSINGLE_FAMILY, 1500, 300000, nil)
	}
	for range 30 {
		m.sale(1.8, property.PropertyTypeSINGLE_FAMILY, 1500, 300000, nil)
	}
	// The search wants max(4×3, 80) = 80 candidates: 30 at 0.5 mi and 60
	// at 1 mi are not enough; the 2-mile step finds all 90.
	r, err := m.value(subjectHome(), Options{MinComps: 3, MaxComps: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r.SearchRadiusMiles != 2 || r.CandidatesConsidered != 90 || len(r.Comps) != 3 {
		t.Fatalf("radius %.1f, %d candidates, %d comps; want 2, 90, 3", r.SearchRadiusMiles, r.CandidatesConsidered, len(r.Comps))
	}
	for _, c := range r.Comps {
		if c.DistanceMiles > 0.31 {
			t.Fatalf("comp at %.2f miles chosen over the ones at 0.3", c.DistanceMiles)
		}
	}
}

func TestNoLookAheadAndTypeMatching(t *testing.T) {
	t.Parallel()
	m := newMarket(t)
	asOf := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	before := asOf.AddDate(0, -2, 0)
	after := asOf.AddDate(0, 0, 10)
	for range 4 {
		m.sale(0.2, property.PropertyTypeSINGLE_FAMILY, 1500, 300000, &before)
	}
	future := m.sale(0.1, property.PropertyTypeSINGLE_FAMILY, 1500, 900000, &after)
	condo := m.sale(0.1, property.PropertyTypeCONDO, 1500, 100000, &before)
	r, err := m.value(subjectHome(), Options{AsOf: &asOf, MinComps: 3, MaxComps: 4, MaxRadiusMiles: 1, MaxLookbackMonths: 6})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Comps {
		if c.PropertyID == future.ID {
			t.Fatal("a sale after the valuation date was used")
		}
		if c.PropertyID == condo.ID {
			t.Fatal("a condo was used for a single-family home")
		}
	}
	if len(r.Comps) != 4 || r.EstimatedValue != 300000 {
		t.Fatalf("%d comps, value %d; want the 4 earlier single-family sales at 300000", len(r.Comps), r.EstimatedValue)
	}
}

func TestTooFewComps(t *testing.T) {
	t.Parallel()
	m := newMarket(t)
	m.sale(0.2, property.PropertyTypeSINGLE_FAMILY, 1500, 300000, nil)
	m.sale(4, property.PropertyTypeSINGLE_FAMILY, 1500, 300000, nil)
	m.sale(0.1, property.PropertyTypeCONDO, 1500, 300000, nil)
	_, err := m.value(subjectHome(), Options{MaxRadiusMiles: 5})
	var tooFew *TooFewCompsError
	if !errors.As(err, &tooFew) {
		t.Fatalf("err = %v, want TooFewCompsError", err)
	}
	if tooFew.Found != 2 || tooFew.Needed != 3 || tooFew.RadiusMiles != 5 {
		t.Fatalf("%+v", tooFew)
	}
	if msg := err.Error(); !strings.Contains(msg, "found 2 SINGLE_FAMILY sale(s) within 5.0 miles") || !strings.Contains(msg, "need at least 3") {
		t.Fatalf("message %q does not say what was missing", msg)
	}
}

// TestAdjustments checks the arithmetic of one comp's adjustment by hand:
// living area at an elasticity of 0.8 and bedrooms at 5% each.
//
//	area term  0.8 × ln(2000/1600) = 0.178515
//	beds term  0.05 × (4 − 3)      = 0.05
//	adjusted   400000 × e^0.228515 = 502,693
//	split      area 80,223 and beds 22,470, in proportion to the terms
func TestAdjustments(t *testing.T) {
	subject := Home{Sqft: new(2000), Beds: new(4)}
	comp := Home{Sqft: new(1600), Beds: new(3), SalePrice: new(400000)}
	rates := []rate{
		{feature: features[featureIndex("livingArea")], beta: 0.8, used: true},
		{feature: features[featureIndex("beds")], beta: 0.05, used: true},
		{feature: features[featureIndex("baths")], beta: 0.1, used: false}, // not used: no effect
	}
	adjusted, adjs, gross := adjust(subject, comp, rates, valuation{asOf: time.Now()})
	if math.Abs(adjusted-502692.87) > 1 {
		t.Fatalf("adjusted %.2f, want 502692.87", adjusted)
	}
	if len(adjs) != 2 || adjs[0].Amount != 80223 || adjs[1].Amount != 22470 {
		t.Fatalf("adjustments %+v, want livingArea 80223 and beds 22470", adjs)
	}
	if adjs[0].Percent != 17.85 || !strings.Contains(adjs[0].Reason, "subject has 400 sq ft more living area") {
		t.Fatalf("living area adjustment %+v", adjs[0])
	}
	if math.Abs(gross-(80223.24+22469.63)/400000) > 1e-4 {
		t.Fatalf("gross %.5f", gross)
	}
}

// TestWeightingAndRange checks the weights and the uncalibrated range by
// hand. Comp A is next door (score 0, similarity 1); comp B is 2 miles away
// (score 1, similarity 1/2). Weights go with similarity squared: 1 and 1/4,
// so 0.8 and 0.2.
func TestWeightingAndRange(t *testing.T) {
	subject := Home{Latitude: subjectLat, Longitude: subjectLng, Sqft: new(1500), Zip: "78704"}
	cands := []candidate{
		{home: Home{ID: 1, Sqft: new(1500), Zip: "78704", SalePrice: new(300000)}, miles: 0},
		{home: Home{ID: 2, Sqft: new(1500), Zip: "78704", SalePrice: new(360000)}, miles: 2},
	}
	comps := scoreComps(subject, cands, nil, valuation{asOf: time.Now()})
	r := buildReport(subject, comps, nil, valuation{asOf: time.Now()}, 2, 36, 2, Options{MaxComps: 10})
	if comps := r.Comps; comps[0].PropertyID != 1 || comps[0].Weight != 0.8 || comps[1].Weight != 0.2 || comps[1].Similarity != 0.5 {
		t.Fatalf("comps %+v", comps)
	}
	// The value is the weighted median: 300000 holds 80% of the weight.
	// The spread is the weighted median absolute log deviation (0, which
	// holds 80%), floored at 0.02. Without a calibration the range is
	// ±2 spreads: 300000 × e^∓0.04 = 288,236 and 312,243.
	if r.EstimatedValue != 300000 || r.ValueLow != 288000 || r.ValueHigh != 312000 || r.CompSpread != 0.02 {
		t.Fatalf("value %d [%d, %d] spread %v, want 300000 [288000, 312000] 0.02", r.EstimatedValue, r.ValueLow, r.ValueHigh, r.CompSpread)
	}
	if r.RangeCalibrated || !strings.Contains(r.RangeNote, "uncalibrated: no calibration is stored") || r.Confidence != "HIGH" {
		t.Fatalf("range note %q, confidence %s: an uncalibrated range must say so", r.RangeNote, r.Confidence)
	}
	// With three comps the 80th percentile reaches the dearest one.
	comps = []Comp{{AdjustedPrice: 300000, Weight: 0.5}, {AdjustedPrice: 320000, Weight: 0.3}, {AdjustedPrice: 400000, Weight: 0.2}}
	if q := weightedQuantile(comps, 0.8); q != 320000 {
		t.Fatalf("80th percentile %v, want 320000", q)
	}
	if q := weightedQuantile(comps, 0.81); q != 400000 {
		t.Fatalf("81st percentile %v, want 400000", q)
	}
}

// TestRatesRecoverTheMarket fits rates on a noiseless market priced at
// ln P = 6 + 0.8 ln(sqft) + 0.05 beds: the ridge fit must find both rates
// within the shrinkage its small penalty allows.
func TestRatesRecoverTheMarket(t *testing.T) {
	var market []candidate
	for i := range 120 {
		sqft := 1000 + (i%12)*150
		beds := 2 + (i*7)%4
		price := int(math.Exp(6 + 0.8*math.Log(float64(sqft)) + 0.05*float64(beds)))
		market = append(market, candidate{home: Home{Sqft: new(sqft), Beds: new(beds), SalePrice: new(price)}})
	}
	rates := deriveRates(Home{Sqft: new(1500), Beds: new(3)}, market, valuation{asOf: time.Now()}, false)
	got := map[string]rate{}
	for _, r := range rates {
		got[r.feature.name] = r
	}
	if a := got["livingArea"]; !a.used || math.Abs(a.beta-0.8) > 0.06 {
		t.Fatalf("living area rate %+v, want about 0.8", a)
	}
	if b := got["beds"]; !b.used || math.Abs(b.beta-0.05) > 0.01 {
		t.Fatalf("beds rate %+v, want about 0.05", b)
	}
	if g := got["garage"]; g.used || !strings.Contains(g.reason, "subject does not have") {
		t.Fatalf("garage rate %+v: the subject has no garage figure", g)
	}
}

// TestEachAdjustment adjusts a 400,000 comp that differs from the subject
// in one feature at a time. Expected amounts, by hand:
// 400,000 × (e^(β·Δ) − 1), with Δ in the feature's fitted scale.
func TestEachAdjustment(t *testing.T) {
	asOf := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	monthAgo12 := asOf.Add(-time.Duration(12 * daysPerMonth * 24 * float64(time.Hour)))
	tests := []struct {
		feature string
		beta    float64
		subject func(*Home)
		comp    func(*Home)
		want    int
		reason  string
	}{
		// 0.8 × ln(2000/1600)
		{"livingArea", 0.8, func(h *Home) { h.Sqft = new(2000) }, func(h *Home) { h.Sqft = new(1600) }, 78176, "400 sq ft more living area"},
		// 0.05 × (4 − 3)
		{"beds", 0.05, func(h *Home) { h.Beds = new(4) }, func(h *Home) { h.Beds = new(3) }, 20508, "1 more bedroom"},
		// 0.04 × (2.5 − 2)
		{"baths", 0.04, func(h *Home) { h.Baths = new(2.5) }, func(h *Home) { h.Baths = new(2.0) }, 8081, "0.5 more bathrooms"},
		// −0.003 × (10 − 30) years of age
		{"age", -0.003, func(h *Home) { h.YearBuilt = new(2016) }, func(h *Home) { h.YearBuilt = new(1996) }, 24735, "20 years newer"},
		// 0.1 × ln(8000/6000)
		{"lotSize", 0.1, func(h *Home) { h.LotSqft = new(8000) }, func(h *Home) { h.LotSqft = new(6000) }, 11674, "lot is 2000 sq ft larger"},
		// 0.02 × (2 − 1)
		{"garage", 0.02, func(h *Home) { h.GarageSpaces = new(2) }, func(h *Home) { h.GarageSpaces = new(1) }, 8081, "1 more garage space"},
		// −0.003 per month before the valuation date × (0 − 12): prices
		// rose 0.3% a month, so the year-old sale is adjusted up, and the
		// reason states the trend as a rise.
		{"marketTime", -0.003, func(h *Home) {}, func(h *Home) { h.SaleDate = &monthAgo12 }, 14662, "the 12 months of market movement since the sale (a positive trend adjusts an older sale up), at +0.30% per month"},
		// 0.02 per mile north × (0 − 1): the comp is a mile north, where
		// prices are 2% higher, so it is adjusted down.
		{"locationNorth", 0.02, func(h *Home) {}, func(h *Home) { h.Latitude = subjectLat + 1/milesPerLat }, -7921, "1 miles north"},
	}
	for _, tt := range tests {
		t.Run(tt.feature, func(t *testing.T) {
			subject := Home{Latitude: subjectLat, Longitude: subjectLng}
			comp := Home{Latitude: subjectLat, Longitude: subjectLng, SalePrice: new(400000)}
			tt.subject(&subject)
			tt.comp(&comp)
			rates := []rate{{feature: features[featureIndex(tt.feature)], beta: tt.beta, used: true}}
			_, adjs, _ := adjust(subject, comp, rates, valuation{asOf: asOf, lat: subjectLat, lng: subjectLng})
			if len(adjs) != 1 || adjs[0].Amount != tt.want || !strings.Contains(adjs[0].Reason, tt.reason) {
				t.Fatalf("adjustments %+v, want one of %d mentioning %q", adjs, tt.want, tt.reason)
			}
		})
	}
}

// TestSalesLoadWhatHomeOfReads: Sales loads only some columns; a sale
// must come back exactly as HomeOf reads the whole stored row, with every
// field HomeOf uses set.
func TestSalesLoadWhatHomeOfReads(t *testing.T) {
	m := newMarket(t)
	sold := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	p, err := m.db.Property.Create().SetAddress("12 Oak St").SetCity("Austin").SetZip("78704").SetExternalRef("full").
		SetLatitude(subjectLat + 0.5/milesPerLat).SetLongitude(subjectLng).SetPropertyType(property.PropertyTypeSINGLE_FAMILY).
		SetSqft(1800).SetBeds(4).SetBaths(2.5).SetLotSqft(6000).SetYearBuilt(1994).SetGarageSpaces(2).
		SetListPrice(455000).SetSalePrice(450000).SetSaleDate(sold).SetStatus(property.StatusSOLD).
		SetDescription("A long description the CMA never reads.").SetFeatures([]string{"pool"}).Save(m.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := EntSource{Client: m.db}.Sales(m.ctx, SalesQuery{Box: boxAround(subjectLat, subjectLng, 2), PropertyType: "SINGLE_FAMILY", ExcludeID: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d sales, want 1", len(got))
	}
	want := HomeOf(p)
	if !reflect.DeepEqual(got[0], want) {
		t.Fatalf("Sales loaded\n%s\nwant (HomeOf of the whole row)\n%s", homeString(got[0]), homeString(want))
	}
}

// homeString shows a Home with its pointers' values.
func homeString(h Home) string {
	deref := func(p any) string {
		v := reflect.ValueOf(p)
		if v.IsNil() {
			return "nil"
		}
		return fmt.Sprint(v.Elem().Interface())
	}
	return fmt.Sprintf("%d %q %q %q %v,%v %s beds=%s baths=%s sqft=%s lot=%s year=%s garage=%s list=%s sale=%s date=%s",
		h.ID, h.ExternalRef, h.Address, h.Zip, h.Latitude, h.Longitude, h.PropertyType, deref(h.Beds), deref(h.Baths), deref(h.Sqft),
		deref(h.LotSqft), deref(h.YearBuilt), deref(h.GarageSpaces), deref(h.ListPrice), deref(h.SalePrice), deref(h.SaleDate))
}
