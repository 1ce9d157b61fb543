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
