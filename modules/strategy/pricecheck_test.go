package strategy

import (
	"strings"
	"testing"
)

// TestListPriceCheck: a list price outside the CMA range is flagged with
// its gap in percent and a recommendation.
func TestListPriceCheck(t *testing.T) {
	// Value 640,000, range 600,000 to 690,000.
	r := report(640000, 600000, 690000, 0, 0, nil, nil)
	opts := pricing(r, Balanced)
	tests := []struct {
		name                string
		listPrice           *int
		status              string
		toValue, toRange    float64
		recommendationHas   []string
		recommendationLacks string
	}{
		// The case: listed at 732,000, 14.4% over the value.
		{"above the range", new(732000), AboveRange, 14.4, 6.1, []string{"$732,000", "14.4% above the CMA value ($640,000)", "6.1% above the top", "appraisal"}, ""},
		{"below the range", new(560000), BelowRange, -12.5, -6.7, []string{"12.5% below the CMA value", "6.7% below the bottom", "$640,000 (at market)"}, ""},
		{"within the range", new(655000), WithinRange, 2.3, 0, []string{"within the CMA range", "+2.3%", "no change needed"}, "above"},
		{"at the top edge, far from the value", new(690000), WithinRange, 7.8, 0, []string{"within the CMA range", "+7.8% from the value ($640,000)", "justify"}, "no change"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := checkListPrice(tt.listPrice, r, opts)
			if c.Status != tt.status || c.GapToValuePercent == nil || *c.GapToValuePercent != tt.toValue ||
				c.GapToRangePercent == nil || *c.GapToRangePercent != tt.toRange {
				t.Fatalf("%+v (gaps %v, %v), want %s %v %v", c, deref(c.GapToValuePercent), deref(c.GapToRangePercent), tt.status, tt.toValue, tt.toRange)
			}
			for _, s := range tt.recommendationHas {
				if !strings.Contains(c.Recommendation, s) {
					t.Errorf("recommendation %q lacks %q", c.Recommendation, s)
				}
			}
			if tt.recommendationLacks != "" && strings.Contains(c.Recommendation, tt.recommendationLacks) {
				t.Errorf("recommendation %q has %q", c.Recommendation, tt.recommendationLacks)
			}
		})
	}
	if c := checkListPrice(nil, r, opts); c.Status != NoListPrice || c.GapToValuePercent != nil || !strings.Contains(c.Recommendation, "$640,000") {
		t.Fatalf("no list price: %+v", c)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
