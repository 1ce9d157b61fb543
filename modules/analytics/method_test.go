package analytics

import (
	"math"
	"strings"
	"testing"
	"time"
)

// TestRidgeTowardAreaRates fits y = 2x on x = 0, 1, 2 with λ = 1 toward a
// prior rate of 1. By hand, with Sxx = Σ(x − x̄)² = 2, n = 3, sd² = 2/3:
//
//	b = (Sxx·b_ols + λ·n·sd²·prior) / (Sxx + λ·n·sd²) = (2·2 + 2·1) / (2 + 2) = 1.5
//
// halfway between the local 2 and the area-wide 1. Toward zero it is
// (2·2 + 0) / 4 = 1; with a weight of 0 on the last sale only x = 0, 1
// count and the local slope is still 2: Sxx = 0.5, sd² = 0.25, Σw = 2, so
// b = (0.5·2 + 1·2·0.25·1) / (0.5 + 0.5) = 1.5.
func TestRidgeTowardAreaRates(t *testing.T) {
	x := [][]float64{{0}, {1}, {2}}
	y := []float64{0, 2, 4}
	for _, tt := range []struct {
		name    string
		weights []float64
		prior   []float64
		lambda  float64
		want    float64
	}{
		{"no penalty", nil, []float64{1}, 0, 2},
		{"toward the area rate", nil, []float64{1}, 1, 1.5},
		{"toward zero", nil, nil, 1, 1},
		{"weighted", []float64{1, 1, 0}, []float64{1}, 1, 1.5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ridgeToward(x, y, tt.weights, tt.prior, tt.lambda)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(b[0]-tt.want) > 1e-9 {
				t.Fatalf("rate %v, want %v", b[0], tt.want)
			}
		})
	}
}

// TestModelAdjustedValue values a subject of 2,000 sq ft from three comps
// adjusted by a living-area elasticity of 0.5:
//
//	A 1,600 sq ft at 400,000: 400,000 × (2000/1600)^0.5 = 447,214
//	B 2,000 sq ft at 430,000: no adjustment             = 430,000
//	C 2,500 sq ft at 520,000: 520,000 × (2000/2500)^0.5 = 465,105
//
// All sit at the subject, so their scores are 2 × size difference (of the
// subject's) + 1.5 × gross adjustment: A 0.4 + 1.5 × 0.118 = 0.577, B 0,
// C 0.5 + 1.5 × 0.106 = 0.658; similarities 1/(1+score) 0.634, 1, 0.603;
// weights go with their squares, 0.402, 1, 0.364, so B has
// 1/1.766 = 0.566 of the weight and the weighted median is its 430,000.
func TestModelAdjustedValue(t *testing.T) {
	subject := Home{Sqft: new(2000), Zip: "78704"}
	cands := []candidate{
		{home: Home{ID: 1, Sqft: new(1600), Zip: "78704", SalePrice: new(400000)}},
		{home: Home{ID: 2, Sqft: new(2000), Zip: "78704", SalePrice: new(430000)}},
		{home: Home{ID: 3, Sqft: new(2500), Zip: "78704", SalePrice: new(520000)}},
	}
	rates := []rate{{feature: features[featureIndex("livingArea")], beta: 0.5, used: true}}
	v := valuation{asOf: time.Now()}
	comps := scoreComps(subject, cands, rates, v)
	got := map[int]int{}
	for _, c := range comps {
		got[c.PropertyID] = c.AdjustedPrice
	}
	if got[1] != 447214 || got[2] != 430000 || got[3] != 465102 {
		t.Fatalf("adjusted prices %v, want 1:447214 2:430000 3:465102", got)
	}
	r := buildReport(subject, comps, rates, v, 0.5, 12, 3, Options{MaxComps: 10})
	if r.EstimatedValue != 430000 || r.Comps[0].PropertyID != 2 || math.Abs(r.Comps[0].Weight-0.5664) > 0.0005 {
		t.Fatalf("value %d, first comp %+v; want 430000 from comp 2 at weight 0.566", r.EstimatedValue, r.Comps[0])
	}
}

// TestOutlierRule applies the appraisal-review thresholds: beyond 15% net
// or 25% gross, a comp is flagged and kept out of the comps shown (it
// still counts, summarised, in the value).
func TestOutlierRule(t *testing.T) {
	for _, tt := range []struct {
		net, gross float64
		want       string
	}{
		{0.15, 0.25, ""},
		{-0.151, 0.151, "net adjustment -15% exceeds ±15%"},
		{0.05, 0.26, "gross adjustment 26% exceeds 25%"},
	} {
		if got := outlier(tt.net, tt.gross); got != tt.want {
			t.Errorf("outlier(%v, %v) = %q, want %q", tt.net, tt.gross, got, tt.want)
		}
	}
	// A 3,337 sq ft comp for a 1,500 sq ft subject at an elasticity of
	// 0.6: 0.6 × ln(1500/3337) = −0.48, a net −38%: flagged, not shown.
	subject := Home{Sqft: new(1500)}
	cands := []candidate{
		{home: Home{ID: 1, Sqft: new(1500), SalePrice: new(300000)}},
		{home: Home{ID: 2, Sqft: new(1550), SalePrice: new(305000)}},
		{home: Home{ID: 3, Sqft: new(3337), SalePrice: new(620000)}},
	}
	rates := []rate{{feature: features[featureIndex("livingArea")], beta: 0.6, used: true}}
	v := valuation{asOf: time.Now()}
	r := buildReport(subject, scoreComps(subject, cands, rates, v), rates, v, 0.5, 12, 3, Options{MaxComps: 10})
	for _, c := range r.Comps {
		if c.PropertyID == 3 {
			t.Fatalf("the outlier comp is shown: %+v", c)
		}
	}
	if r.FlaggedComps != 1 || r.OtherComps == nil || r.OtherComps.Count != 1 || r.OtherComps.FlaggedOutliers != 1 {
		t.Fatalf("flagged %d, other comps %+v; want the one outlier summarised", r.FlaggedComps, r.OtherComps)
	}
}

// TestCalibrationQuantiles calibrates on 60 backtested sales, 20 at each
// spread of 0.05, 0.10 and 0.20, each grade's log errors being z × spread
// for z = −1.0, −0.9, …, 0.9. By hand (linear interpolation between order
// statistics):
//
//	grade cuts: spreads' 1/3 quantile at position 59/3 = 19.67, between
//	0.05 and 0.10: 0.0833; the 2/3 quantile at 39.33: 0.1333
//	z's 10th percentile at position 1.9: −0.9 + 0.9 × 0.1 = −0.81
//	z's 90th percentile at position 17.1: 0.7 + 0.1 × 0.1 = 0.71
//
// so a HIGH value of 100,000 with spread 0.05 has the band
// 100,000 × e^(−0.81 × 0.05) = 96,031 to 100,000 × e^(0.71 × 0.05) = 103,614.
func TestCalibrationQuantiles(t *testing.T) {
	var samples []CalibrationSample
	for _, spread := range []float64{0.05, 0.10, 0.20} {
		for i := range 20 {
			z := -1 + 0.1*float64(i)
			samples = append(samples, CalibrationSample{Estimate: 100000, Price: 100000 * math.Exp(z*spread), Spread: spread})
		}
	}
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	cal, why := Calibrate(samples, at)
	if cal == nil {
		t.Fatal(why)
	}
	high := cal.Grades[0]
	if high.Grade != "HIGH" || high.Count != 20 || high.MaxSpread != 0.0833 || high.LowZ != -0.81 || high.HighZ != 0.71 {
		t.Fatalf("HIGH %+v", high)
	}
	if cal.Grades[1].MaxSpread != 0.1333 || cal.Grades[2].Count != 20 {
		t.Fatalf("grades %+v", cal.Grades)
	}
	b := BandFor(100000, 0.05, cal, "")
	if math.Round(b.Low) != 96031 || math.Round(b.High) != 103614 || b.Grade != "HIGH" || !b.Calibrated {
		t.Fatalf("band %+v, want HIGH 96031–103614", b)
	}
	if !strings.Contains(b.Note, "80% of values graded HIGH were within ±") || !strings.Contains(b.Note, "calibrated 2026-03-01") {
		t.Fatalf("band note %q does not state the grade's measured error and date", b.Note)
	}
	if q := quantile([]float64{1, 2, 3, 4}, 0.8); math.Abs(q-3.4) > 1e-12 {
		t.Fatalf("quantile %v, want 3.4", q)
	}
	if cal, why := Calibrate(samples[:59], at); cal != nil || !strings.Contains(why, "only 59 backtested sales") {
		t.Fatalf("59 samples calibrated (%v)", why)
	}
}

// TestTimeAdjustmentSignAndWording: a market that rose 1% a month has a
// fitted coefficient of −0.01 per month before the valuation date. The
// rate is stated as +1.00% per month, a sale 6 months old is adjusted up
// by 400,000 × (e^0.06 − 1) = 24,735, and nothing says the market fell.
func TestTimeAdjustmentSignAndWording(t *testing.T) {
	asOf := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	sold := asOf.Add(-time.Duration(6 * daysPerMonth * 24 * float64(time.Hour)))
	f := features[featureIndex("marketTime")]
	rates := []rate{{feature: f, beta: -0.01, used: true}}
	v := valuation{asOf: asOf}
	_, adjs, _ := adjust(Home{}, Home{SalePrice: new(400000), SaleDate: &sold}, rates, v)
	if len(adjs) != 1 || adjs[0].Amount != 24735 || adjs[0].Percent != 6 {
		t.Fatalf("adjustments %+v, want +24735 (+6%%)", adjs)
	}
	if !strings.Contains(adjs[0].Reason, "at +1.00% per month") {
		t.Fatalf("reason %q does not state a rising market", adjs[0].Reason)
	}
	if got := percentPerUnit(f, -0.01); got != 1 {
		t.Fatalf("market rate %v%% per month, want +1", got)
	}
}

// TestStoredCalibration: a calibration saved for the organization is what
// the next CMA draws its range and grade from, and the report says when it
// was calibrated; without one, the report says the range is uncalibrated.
func TestStoredCalibration(t *testing.T) {
	m := newMarket(t)
	for i := range 12 {
		m.sale(0.1*float64(i+1), "SINGLE_FAMILY", 1500, 300000+1000*i, nil)
	}
	r, err := m.value(subjectHome(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.RangeCalibrated || r.CalibratedAt != nil || !strings.Contains(r.RangeNote, "run `estateflow cma calibrate`") {
		t.Fatalf("no calibration stored, yet: calibrated %v at %v, %q", r.RangeCalibrated, r.CalibratedAt, r.RangeNote)
	}
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	cal := &Calibration{CalibratedAt: at, Sales: 300, Grades: []GradeCalibration{
		{Grade: "HIGH", MaxSpread: 0.05, Count: 100, LowZ: -2, HighZ: 2, Within80: 0.08},
		{Grade: "MEDIUM", MaxSpread: 0.1, Count: 100, LowZ: -1.5, HighZ: 1.5, Within80: 0.16},
		{Grade: "LOW", Count: 100, LowZ: -1.2, HighZ: 1.2, Within80: 0.3},
	}}
	if err := SaveCalibration(m.ctx, m.db, cal); err != nil {
		t.Fatal(err)
	}
	r, err = m.value(subjectHome(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !r.RangeCalibrated || r.CalibratedAt == nil || !r.CalibratedAt.Equal(at) || !strings.Contains(r.RangeNote, "calibrated 2026-11-30") {
		t.Fatalf("stored calibration not used: calibrated %v at %v, %q", r.RangeCalibrated, r.CalibratedAt, r.RangeNote)
	}
	// Comps 300,000–311,000 around a value of 305,000 or 306,000: spread
	// 1.4826 × median |log deviation| ≈ 0.015, floored to 0.02: HIGH, whose
	// band is ±2 spreads.
	if r.Confidence != "HIGH" || !strings.Contains(r.RangeNote, "80% of values graded HIGH were within ±8%") {
		t.Fatalf("confidence %s, note %q", r.Confidence, r.RangeNote)
	}
}

// TestListingAndSegments: a list price above the range is named with its
// gap, and an old home in a thin market is named as a weak segment.
func TestListingAndSegments(t *testing.T) {
	m := newMarket(t)
	for i := range 12 {
		m.sale(0.1*float64(i+1), "SINGLE_FAMILY", 1500, 300000, nil)
	}
	subject := subjectHome()
	subject.ListPrice = new(400000)
	subject.YearBuilt = new(1940)
	r, err := m.value(subject, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The range is 300,000 × e^±0.04 (uncalibrated, spread 0.02): top
	// 312,000, so 400,000 is 28.2% above it.
	if r.ValueHigh != 312000 || !strings.Contains(r.ListingNote, "the list price 400000 is 28.2% above the top of the 80% range (312000)") {
		t.Fatalf("range top %d, listing note %q", r.ValueHigh, r.ListingNote)
	}
	joined := strings.Join(r.WeakSegments, "; ")
	if !strings.Contains(joined, "thin type: only 12 SINGLE_FAMILY sales") || !strings.Contains(joined, "old home: built in 1940") {
		t.Fatalf("weak segments %q", joined)
	}
}
