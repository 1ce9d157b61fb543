package strategy

import (
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/modules/analytics"
)

// marketReport is a CMA report with sales in a lookback window (months 0:
// undated sales) and the sale-to-list median of withList sales.
func marketReport(active, sales, months int, ratio float64, withList int) *analytics.Report {
	r := report(500000, 470000, 540000, active, sales, nil, nil)
	if months > 0 {
		r.LookbackMonths = &months
	}
	if withList > 0 {
		r.Market.SaleToListRatio = &ratio
		r.Market.SalesWithListPrice = withList
	}
	return r
}

// TestReadMarket reads the market as an agent would: from enough sales,
// with both signals, saying when they disagree.
func TestReadMarket(t *testing.T) {
	tests := []struct {
		name            string
		r               *analytics.Report
		temp, agreement string
		wantMOS         float64
		reasonHas       []string
	}{
		// 24 sales over 12 months is 2 a month; 4 listings = 2 months.
		{"seller's market, both signals", marketReport(4, 24, 12, 1.02, 8), Tight, Agree, 2, []string{"seller's market", "2.0 months of supply", "102.0%"}},
		{"balanced, both signals", marketReport(10, 24, 12, 0.98, 8), Balanced, Agree, 5, []string{"balanced"}},
		{"buyer's market, both signals", marketReport(14, 24, 12, 0.95, 8), Soft, Agree, 7, []string{"buyer's market"}},
		// The case: 3 active listings against 2 sales a month is
		// 1.5 months of supply, but homes sold at 98.9% of list: not tight.
		{"few listings but sales under list", marketReport(3, 12, 6, 0.989, 10), Balanced, Disagree, 1.5,
			[]string{"signals disagree", "tight by supply, balanced by sale-to-list", "98.9%", "no tactic that needs a seller's market"}},
		{"long supply but sales over list", marketReport(21, 18, 6, 1.01, 9), Balanced, Disagree, 7,
			[]string{"a seller's or a buyer's market"}},
		{"exactly 4 months is not a seller's market", marketReport(8, 24, 12, 0.98, 8), Balanced, Agree, 4, nil},
		{"exactly 6 months is not a buyer's market", marketReport(12, 24, 12, 0.98, 8), Balanced, Agree, 6, nil},
		// Too few sales for either signal: UNKNOWN, with the minimums.
		{"small sample", marketReport(3, 6, 6, 1.05, 3), Unknown, NoSignal, 0,
			[]string{"too few sales", "6 sales in 6 months is under the minimum of 10", "3 sales with a known list price, under the minimum of 5"}},
		{"one sale", marketReport(0, 1, 3, 1.1, 1), Unknown, NoSignal, 0, []string{"1 sale with a known list price"}},
		{"no data", marketReport(0, 24, 0, 0, 0), Unknown, NoSignal, 0, []string{"no dates"}},
		// One signal with enough sales reads the market, and says so.
		{"sale-to-list alone", marketReport(5, 24, 0, 0.95, 6), Soft, SingleSignal, 0, []string{"one signal only", "no dates"}},
		{"supply alone", marketReport(2, 30, 6, 1.04, 2), Tight, SingleSignal, 0.4, []string{"one signal only", "under the minimum of 5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := readMarket(tt.r)
			if m.Temperature != tt.temp || m.Agreement != tt.agreement {
				t.Fatalf("%s/%s, want %s/%s: %s", m.Temperature, m.Agreement, tt.temp, tt.agreement, m.Reason)
			}
			if tt.wantMOS > 0 && (m.MonthsOfSupply == nil || *m.MonthsOfSupply != tt.wantMOS) {
				t.Fatalf("months of supply %v, want %v", m.MonthsOfSupply, tt.wantMOS)
			}
			if tt.temp == Unknown && (m.MonthsOfSupply != nil || m.SaleToListRatio != nil) {
				t.Fatalf("an UNKNOWN reading reports figures from too few sales: %+v", m)
			}
			for _, s := range tt.reasonHas {
				if !strings.Contains(m.Reason, s) {
					t.Errorf("reason %q lacks %q", m.Reason, s)
				}
			}
			if len(m.Signals) != 2 {
				t.Fatalf("signals %+v", m.Signals)
			}
			for _, s := range m.Signals {
				if s.Note == "" || s.MinSample == 0 || (s.Reading == Unknown) != (s.Value == nil) {
					t.Errorf("signal %+v", s)
				}
			}
		})
	}
}

// TestSellersTacticsNeedASellersMarket: offer deadlines and "highest and
// best" appear only when the evidence reads a seller's market.
func TestSellersTacticsNeedASellersMarket(t *testing.T) {
	start := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		r     *analytics.Report
		wants bool
	}{
		{"agreeing seller's market", marketReport(4, 24, 12, 1.02, 8), true},
		{"3 listings, sold at 98.9% of list", marketReport(3, 12, 6, 0.989, 10), false},
		{"small sample", marketReport(1, 4, 6, 1.05, 3), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Build(Input{Subject: analytics.Home{}, Report: tt.r, Start: start})
			var all []string
			for _, p := range s.NegotiationPlays {
				all = append(all, strings.ToLower(p.Play))
			}
			joined := strings.Join(all, "; ")
			got := strings.Contains(joined, "offer deadline") || strings.Contains(joined, "highest and best")
			if got != tt.wants {
				t.Fatalf("market %s: plays %q; seller's-market tactics %v, want %v", s.Market.Temperature, joined, got, tt.wants)
			}
		})
	}
}
