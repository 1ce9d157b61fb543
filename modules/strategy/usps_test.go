package strategy

import (
	"regexp"
	"testing"

	"github.com/estateflow/estateflow/modules/analytics"
)

// TestUSPs: only whole, meaningful differences count, in plain English,
// with buyer copy that states the fact alone.
func TestUSPs(t *testing.T) {
	three := []analytics.Home{
		{Sqft: new(1500), Beds: new(3), Baths: new(2.0), YearBuilt: new(1990), LotSqft: new(6000), GarageSpaces: new(1)},
		{Sqft: new(1600), Beds: new(3), Baths: new(2.0), YearBuilt: new(1995), LotSqft: new(6000), GarageSpaces: new(1)},
		{Sqft: new(1400), Beds: new(3), Baths: new(2.0), YearBuilt: new(2000), LotSqft: new(6000), GarageSpaces: new(2)},
	}
	// Two comps: medians of 1.5 garage spaces and 3.5 bedrooms.
	two := []analytics.Home{
		{Beds: new(3), Baths: new(2.0), GarageSpaces: new(1), LotSqft: new(9000)},
		{Beds: new(4), Baths: new(2.5), GarageSpaces: new(2), LotSqft: new(9596)},
	}
	tests := []struct {
		name    string
		subject analytics.Home
		comps   []analytics.Home
		want    map[string][2]string // feature → claim, buyer copy
	}{
		{"clear advantages", analytics.Home{Sqft: new(1770), Beds: new(4), Baths: new(2.5), YearBuilt: new(2017), LotSqft: new(6500), GarageSpaces: new(2)}, three,
			map[string][2]string{
				"livingArea": {"18% more living area than the median comp (1,770 vs 1,500 sq ft)", "1,770 sq ft of living space"},
				"beds":       {"1 more bedroom than the median comp (4 vs 3)", "4 bedrooms"},
				"yearBuilt":  {"built 22 years later than the median comp (2017 vs 1995)", "Built in 2017"},
				"garage":     {"1 more garage space than the median comp (2 vs 1)", "2-car garage"},
			}},
		{"two more in plural", analytics.Home{Beds: new(5), Baths: new(4.0), GarageSpaces: new(3)}, three,
			map[string][2]string{
				"beds":   {"2 more bedrooms than the median comp (5 vs 3)", "5 bedrooms"},
				"baths":  {"2 more bathrooms than the median comp (4 vs 2)", "4 bathrooms"},
				"garage": {"2 more garage spaces than the median comp (3 vs 1)", "3-car garage"},
			}},
		// Half a unit over a median is not a difference a buyer sees.
		{"half units do not count", analytics.Home{Beds: new(4), Baths: new(2.5), GarageSpaces: new(2), LotSqft: new(10548)}, two,
			map[string][2]string{
				"lotSize": {"13% larger lot than the median comp (10,548 vs 9,298 sq ft)", "10,548 sq ft lot"},
			}},
		{"a half bath over a whole one", analytics.Home{Baths: new(3.5)}, three,
			map[string][2]string{"baths": {"1 more bathroom than the median comp (3.5 vs 2)", "3 full and 1 half bathrooms"}}},
		{"a large lot in acres", analytics.Home{LotSqft: new(21780)}, three,
			map[string][2]string{"lotSize": {"263% larger lot than the median comp (21,780 vs 6,000 sq ft)", "0.50-acre lot (21,780 sq ft)"}}},
	}
	fraction := regexp.MustCompile(`\b\d+\.\d+ more\b|\(s\)`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string][2]string{}
			for _, u := range usps(Input{Subject: tt.subject, Comps: tt.comps}) {
				got[u.Feature] = [2]string{u.Claim, u.BuyerCopy}
				if fraction.MatchString(u.Claim) || fraction.MatchString(u.BuyerCopy) {
					t.Errorf("%s: a fractional or (s) count: %q / %q", u.Feature, u.Claim, u.BuyerCopy)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("USPs %v, want %v", got, tt.want)
			}
			for f, w := range tt.want {
				if got[f] != w {
					t.Errorf("%s: %q, want %q", f, got[f], w)
				}
			}
		})
	}
	listed := usps(Input{Subject: analytics.Home{}, Features: []string{" pool", "", "quartz counters"}})
	if len(listed) != 2 || listed[0].BuyerCopy != "Pool" || listed[1].Claim != "listed feature: quartz counters" {
		t.Fatalf("listed features %+v", listed)
	}
}
