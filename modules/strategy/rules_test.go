package strategy

import (
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/modules/analytics"
)

func report(value, low, high int, active, candidates int, lookback *int, ratio *float64) *analytics.Report {
	return &analytics.Report{
		EstimatedValue: value, ValueLow: low, ValueHigh: high, CandidatesConsidered: candidates, LookbackMonths: lookback,
		SearchRadiusMiles: 1, Comps: make([]analytics.Comp, 5),
		Market: analytics.MarketContext{ActiveListings: active, SaleToListRatio: ratio},
	}
}

func TestReadMarket(t *testing.T) {
	tests := []struct {
		name    string
		r       *analytics.Report
		want    string
		wantMOS float64
	}{
		// 24 sales over 12 months is 2 a month; 4 listings = 2 months.
		{"tight by supply", report(500000, 0, 0, 4, 24, new(12), nil), Tight, 2},
		{"balanced by supply", report(500000, 0, 0, 8, 24, new(12), nil), Balanced, 4},
		{"soft by supply", report(500000, 0, 0, 14, 24, new(12), nil), Soft, 7},
		{"tight by sale-to-list", report(500000, 0, 0, 0, 24, nil, new(1.02)), Tight, 0},
		{"soft by sale-to-list", report(500000, 0, 0, 0, 24, nil, new(0.95)), Soft, 0},
		{"no data", report(500000, 0, 0, 0, 24, nil, nil), Balanced, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := readMarket(tt.r)
			if m.Temperature != tt.want || m.Reason == "" {
				t.Fatalf("%+v, want %s", m, tt.want)
			}
			if tt.wantMOS > 0 && (m.MonthsOfSupply == nil || *m.MonthsOfSupply != tt.wantMOS) {
				t.Fatalf("months of supply %v, want %v", m.MonthsOfSupply, tt.wantMOS)
			}
		})
	}
}

func TestPricingOptions(t *testing.T) {
	// Value 500,000 with a range up to 540,000, balanced market:
	// below market 0.97 × 500,000 = 485,000; aspirational max(540,000, 525,000).
	opts := pricing(report(500000, 470000, 540000, 0, 0, nil, nil), Balanced)
	want := []struct {
		name       string
		price      int
		minD, maxD int
	}{{"BELOW_MARKET", 485000, 7, 21}, {"AT_MARKET", 500000, 21, 45}, {"ASPIRATIONAL", 540000, 45, 90}}
	for i, w := range want {
		o := opts[i]
		if o.Name != w.name || o.Price != w.price || o.MinDaysOnMarket != w.minD || o.MaxDaysOnMarket != w.maxD || o.Rationale == "" || o.Risk == "" {
			t.Fatalf("option %d = %+v, want %+v", i, o, w)
		}
	}
	// A narrow range: the aspirational price is 5% over the value.
	if p := pricing(report(500000, 490000, 510000, 0, 0, nil, nil), Tight)[2]; p.Price != 525000 || p.MinDaysOnMarket != 21 {
		t.Fatalf("aspirational %+v, want 525000 from day 21", p)
	}
}

func TestUSPs(t *testing.T) {
	comps := []analytics.Home{
		{Sqft: new(1500), Beds: new(3), Baths: new(2.0), YearBuilt: new(1990), LotSqft: new(6000), GarageSpaces: new(1)},
		{Sqft: new(1600), Beds: new(3), Baths: new(2.0), YearBuilt: new(1995), LotSqft: new(6000), GarageSpaces: new(1)},
		{Sqft: new(1400), Beds: new(3), Baths: new(2.0), YearBuilt: new(2000), LotSqft: new(6000), GarageSpaces: new(2)},
	}
	subject := analytics.Home{Sqft: new(1770), Beds: new(4), Baths: new(2.5), YearBuilt: new(2017), LotSqft: new(6500), GarageSpaces: new(2)}
	got := usps(Input{Subject: subject, Comps: comps, Features: []string{"pool"}})
	claims := map[string]string{}
	for _, u := range got {
		claims[u.Feature] = u.Claim
	}
	want := map[string]string{
		"livingArea":    "18% more living area than the median comp (1770 vs 1500 sq ft)",
		"beds":          "1 more bedroom(s) than the median comp (4 vs 3)",
		"baths":         "0.5 more bathroom(s) than the median comp (2.5 vs 2)",
		"yearBuilt":     "built 22 years later than the median comp (2017 vs 1995)",
		"garage":        "1 more garage space(s) than the median comp (2 vs 1)",
		"listedFeature": "listed feature: pool",
	}
	for f, claim := range want {
		if claims[f] != claim {
			t.Errorf("%s: %q, want %q", f, claims[f], claim)
		}
	}
	if _, ok := claims["lotSize"]; ok {
		t.Error("a lot 8% larger is not an advantage worth claiming (threshold 10%)")
	}
}

func TestSegments(t *testing.T) {
	comps := []analytics.Home{{SalePrice: new(400000), Sqft: new(1800)}, {SalePrice: new(400000), Sqft: new(1800)}}
	tests := []struct {
		name    string
		subject analytics.Home
		value   int
		radius  float64
		want    []string
	}{
		{"entry price", analytics.Home{PropertyType: "SINGLE_FAMILY", Beds: new(3), Sqft: new(1200)}, 320000, 1, []string{"FIRST_TIME_BUYER"}},
		{"small condo", analytics.Home{PropertyType: "CONDO", Beds: new(2), Sqft: new(900)}, 400000, 1, []string{"FIRST_TIME_BUYER", "DOWNSIZER"}},
		{"big family home", analytics.Home{PropertyType: "SINGLE_FAMILY", Beds: new(4), Sqft: new(2400)}, 420000, 1, []string{"MOVE_UP_BUYER"}},
		{"duplex", analytics.Home{PropertyType: "MULTI_FAMILY", Beds: new(4), Sqft: new(1700)}, 400000, 1, []string{"INVESTOR"}},
		{"top of market", analytics.Home{PropertyType: "SINGLE_FAMILY", Beds: new(3), Sqft: new(1800)}, 650000, 1, []string{"LUXURY_BUYER"}},
		{"remote", analytics.Home{PropertyType: "SINGLE_FAMILY", Beds: new(3), Sqft: new(1800)}, 400000, 8, []string{"RELOCATING_BUYER"}},
		{"median home", analytics.Home{PropertyType: "SINGLE_FAMILY", Beds: new(3), Sqft: new(1800)}, 400000, 1, []string{"LOCAL_MOVE_UP_BUYER"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := report(tt.value, 0, 0, 0, 0, nil, nil)
			r.SearchRadiusMiles = tt.radius
			got := segments(Input{Subject: tt.subject, Report: r, Comps: comps})
			var names []string
			for _, s := range got {
				names = append(names, s.Segment)
				if s.Reason == "" {
					t.Fatalf("segment %s without a reason", s.Segment)
				}
			}
			if strings.Join(names, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("segments %v, want %v", names, tt.want)
			}
		})
	}
}

func TestTimelineSkipsWeekendsAndHolidays(t *testing.T) {
	// Start on Saturday 2026-11-21: prep begins Monday the 23rd. Five
	// business days later skips Thanksgiving (Thursday the 26th): photos on
	// Tuesday Dec 1, coming soon Wed Dec 2, live Fri Dec 4, open house Sat
	// Dec 5; offer review 7 business days after going live: Tue Dec 15.
	start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	got := timeline(start, Balanced)
	want := []string{"2026-11-23", "2026-12-01", "2026-12-02", "2026-12-04", "2026-12-05", "2026-12-15"}
	for i, m := range got {
		if d := m.Date.Format("2006-01-02"); d != want[i] {
			t.Errorf("%s on %s, want %s", m.Name, d, want[i])
		}
	}
	// A tight market reviews offers after 4 business days: Thu Dec 10.
	if d := timeline(start, Tight)[5].Date.Format("2006-01-02"); d != "2026-12-10" {
		t.Errorf("tight offer review on %s, want 2026-12-10", d)
	}
}

func TestPlaysFollowTheMarket(t *testing.T) {
	start := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	tight := plays(Tight, analytics.Home{}, start)
	soft := plays(Soft, analytics.Home{}, start)
	balancedOld := plays(Balanced, analytics.Home{YearBuilt: new(1990)}, start)
	balancedNew := plays(Balanced, analytics.Home{YearBuilt: new(2020)}, start)
	if tight[0].Play != "Set an offer deadline" || soft[0].Play != "Share a pre-listing inspection" {
		t.Fatalf("tight %v / soft %v", tight[0], soft[0])
	}
	if len(balancedOld) != 3 || !strings.Contains(balancedOld[2].When, "36-year-old") || len(balancedNew) != 2 {
		t.Fatalf("balanced plays: old home %v, new home %v", balancedOld, balancedNew)
	}
	for _, p := range append(append(tight, soft...), balancedOld...) {
		if p.When == "" {
			t.Fatalf("play %q without a when", p.Play)
		}
	}
}
