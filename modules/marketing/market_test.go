package marketing

import (
	"strings"
	"testing"
	"time"
)

// TestMarketFigures checks the market update's figures against ones worked
// out by hand on a small fixture.
func TestMarketFigures(t *testing.T) {
	loc := chicago(t)
	now := time.Date(2026, 12, 5, 15, 0, 0, 0, loc)
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 12, 0, 0, 0, loc) }
	listed := func(sold time.Time, days int) *time.Time { l := sold.AddDate(0, 0, -days); return &l }
	// The current period is Sep 6 to Dec 4 (90 days ending with
	// yesterday), the prior one Jun 8 to Sep 5.
	current := []Sale{
		{Price: 400_000, SoldAt: day(time.September, 6)},
		{Price: 450_000, SoldAt: day(time.October, 1)},
		{Price: 500_000, SoldAt: day(time.October, 15)},
		{Price: 520_000, SoldAt: day(time.November, 2)},
		{Price: 610_000, SoldAt: day(time.November, 20)},
		{Price: 700_000, SoldAt: day(time.December, 4)},
	}
	for i, dom := range []int{10, 20, 30, 40, 50} { // the last sale has no list date
		current[i].ListedAt = listed(current[i].SoldAt, dom)
	}
	prior := []Sale{
		{Price: 380_000, SoldAt: day(time.June, 8)}, {Price: 420_000, SoldAt: day(time.July, 1)},
		{Price: 450_000, SoldAt: day(time.July, 20)}, {Price: 470_000, SoldAt: day(time.August, 10)},
		{Price: 490_000, SoldAt: day(time.September, 5)},
	}
	outside := []Sale{
		{Price: 9_000_000, SoldAt: day(time.December, 5)}, // today: the period has not ended
		{Price: 1, SoldAt: day(time.June, 7)},             // before the prior period
	}
	f := ComputeMarket([]string{"78704"}, append(append(current, prior...), outside...), 7, now, loc)
	// Medians: (500,000 + 520,000) / 2 = 510,000; 450,000 before; change
	// 60,000 / 450,000 = 13.3%. Days on market: 10, 20, 30, 40, 50 → 30.
	if f.Sales != 6 || f.PriorSales != 5 || *f.MedianSalePrice != 510_000 || *f.PriorMedianSalePrice != 450_000 ||
		*f.PriceChangePercent != 13.3 || *f.MedianDaysOnMarket != 30 || f.ActiveListings != 7 {
		t.Fatalf("figures %+v", f)
	}
	want := []string{
		"Median sale price: $510,000, from 6 sales closed Sep 6–Dec 4, 2026, up 13.3% from $450,000 (Jun 8–Sep 5, 2026, 5 sales).",
		"Median days on market: 30 days, for homes that sold Sep 6–Dec 4, 2026.",
		"Homes for sale: 7 homes listed with us as of Dec 5, 2026.",
	}
	if strings.Join(f.Lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("lines:\n%s\nwant:\n%s", strings.Join(f.Lines, "\n"), strings.Join(want, "\n"))
	}

	// Too few sales: no median, and the email says so.
	thin := ComputeMarket([]string{"78704"}, current[:4], 0, now, loc)
	if thin.MedianSalePrice != nil || thin.MedianDaysOnMarket != nil || thin.PriceChangePercent != nil {
		t.Fatalf("thin figures %+v", thin)
	}
	for i, want := range []string{
		"Sale prices: 4 sales closed Sep 6–Dec 4, 2026, too few for a meaningful median",
		"Days on market: too few sales with a listing date closed Sep 6–Dec 4, 2026",
		"Homes for sale: none listed with us as of Dec 5, 2026.",
	} {
		if !strings.HasPrefix(thin.Lines[i], want) {
			t.Errorf("line %d %q, want %q…", i, thin.Lines[i], want)
		}
	}
	// Enough sales now, too few before: the price is quoted, not compared.
	noPrior := ComputeMarket(nil, current, 1, now, loc)
	if noPrior.PriceChangePercent != nil || !strings.Contains(noPrior.Lines[0], "no sales closed Jun 8–Sep 5, 2026, too few to compare with") {
		t.Errorf("no prior: %q", noPrior.Lines[0])
	}
}

// TestMarketUpdateEmailQuotesTheFigures: the market-update email carries
// the figures' lines and says where they come from.
func TestMarketUpdateEmailQuotesTheFigures(t *testing.T) {
	loc := chicago(t)
	now := time.Date(2026, 12, 5, 15, 0, 0, 0, loc)
	sales := []Sale{}
	for i := range 5 {
		sales = append(sales, Sale{Price: 500_000 + i*10_000, SoldAt: now.AddDate(0, 0, -10-i)})
	}
	f := ComputeMarket([]string{"78704", "78745"}, sales, 4, now, loc)
	r := Recipient{Name: "Ana Ruiz", Email: "ana@example.com", EmailOptIn: true, Areas: []string{"78704", "78745"}, BudgetMax: new(600000), Tier: "COLD"}
	seq := plan(r, nil, &f, now, loc)
	m := seq.Messages[1]
	if m.Template != "market-update" || m.Subject != "Ana, your market update for 78704 or 78745" || seq.Market == nil {
		t.Fatalf("%q %q", m.Template, m.Subject)
	}
	for _, want := range []string{"- Median sale price: $520,000, from 5 sales closed Sep 6–Dec 4, 2026", "- Homes for sale: 4 homes listed with us as of Dec 5, 2026.", "not the whole MLS"} {
		if !strings.Contains(m.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, m.Body)
		}
	}
}
