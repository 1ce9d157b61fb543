package marketing

import (
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/modules/homevalue"
)

// TestHomeValueEmail reads the home-value email as the past client does.
func TestHomeValueEmail(t *testing.T) {
	loc := chicago(t)
	now := time.Date(2026, 12, 5, 21, 30, 0, 0, loc) // in quiet hours: sent at 8:00 the next day
	bought := time.Date(2021, 5, 3, 12, 0, 0, 0, loc)
	market := ComputeMarket([]string{"78704"}, nil, 4, now, loc)
	base := homevalue.Valuation{ClientID: 7, PropertyID: 42, Address: "1508 Bouldin Ave", City: "Austin", Zip: "78704",
		PurchaseTransactionID: 9, PurchasePrice: new(400000), PurchaseDate: &bought,
		CMA: analytics.Report{EstimatedValue: 512000, ValueLow: 480000, ValueHigh: 545000, ValueCompCount: 8, SearchRadiusMiles: 1.5,
			LookbackMonths: new(12), RangeCalibrated: true}}
	tests := []struct {
		name      string
		r         Recipient
		v         func(homevalue.Valuation) homevalue.Valuation
		subject   string
		says      []string
		saysNot   []string
		noConsent string
	}{
		{name: "with purchase and calibrated range", r: Recipient{Name: "Dana Whitfield", Email: "dana@example.com", EmailOptIn: true},
			subject: "Dana, what your home at 1508 Bouldin Ave could sell for today",
			says: []string{"Hi Dana,", "your home at 1508 Bouldin Ave, Austin, could sell for",
				"Likely price range: $480,000 to $545,000, with $512,000 our single best estimate.",
				"Based on 8 comparable sales within 1.5 miles, sold in the last 12 months.",
				"You bought it for $400,000 on May 3, 2021; our estimate is about 28% above that price.",
				"80% of the homes sold within a range drawn this way",
				"How the market around 78704 has moved", "- Homes for sale: 4 homes listed with us as of Dec 5, 2026.",
				"not an appraisal", "1100 S Lamar Blvd, Austin, TX 78704",
				"past client of Hill Country Realty and agreed to hear from us by email",
				"unsubscribe with one click: https://app.example/u/TOKEN0"}},
		{name: "no purchase price, uncalibrated range, no name", r: Recipient{Email: "x@example.com", EmailOptIn: true},
			v: func(v homevalue.Valuation) homevalue.Valuation {
				v.PurchasePrice, v.CMA.RangeCalibrated, v.CMA.LookbackMonths = nil, false, nil
				return v
			},
			subject: "What your home at 1508 Bouldin Ave could sell for today",
			says:    []string{"Hi there,", "The range is our judgment from these sales", "within 1.5 miles.\n"},
			saysNot: []string{"You bought it", "80% of the homes"}},
		{name: "below the purchase price", r: Recipient{Name: "Lee", Email: "lee@example.com", EmailOptIn: true},
			v: func(v homevalue.Valuation) homevalue.Valuation {
				v.PurchasePrice = new(600000)
				return v
			},
			subject: "Lee, what your home at 1508 Bouldin Ave could sell for today",
			says:    []string{"our estimate is about 15% below that price."}},
		{name: "no consent", r: Recipient{Name: "Dana", Email: "dana@example.com"}, noConsent: "not opted in"},
		{name: "no address", r: Recipient{Name: "Dana", EmailOptIn: true}, noConsent: "no email address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := base
			if tt.v != nil {
				v = tt.v(v)
			}
			out := PlanHomeValueEmail(HomeValueInput{Recipient: tt.r, Sender: testSender, Valuation: v, Market: market,
				UnsubscribeURL: testLink(0), Now: now, Loc: loc})
			if out.ValueLow != v.CMA.ValueLow || out.ValueHigh != v.CMA.ValueHigh || out.EstimatedValue != v.CMA.EstimatedValue {
				t.Fatalf("figures %+v", out)
			}
			if tt.noConsent != "" {
				if out.Consent || out.Message != nil || !strings.Contains(out.Reason, tt.noConsent) {
					t.Fatalf("without consent: %+v", out)
				}
				return
			}
			m := out.Message
			if !out.Consent || m == nil || m.Subject != tt.subject {
				t.Fatalf("subject %+v", out)
			}
			if want := time.Date(2026, 12, 6, 8, 0, 0, 0, loc); !m.ScheduledAt.Equal(want) {
				t.Errorf("scheduled at %s, want 8:00 the next morning", m.ScheduledAt.In(loc))
			}
			for _, s := range tt.says {
				if !strings.Contains(m.Body, s) {
					t.Errorf("the email does not say %q:\n%s", s, m.Body)
				}
			}
			for _, s := range append(tt.saysNot, "{{", "%!", "<nil>", "$0") {
				if strings.Contains(m.Body, s) {
					t.Errorf("the email says %q:\n%s", s, m.Body)
				}
			}
			if m.ListUnsubscribe != "<"+testLink(0)+">" || m.ListUnsubscribePost != ListUnsubscribePost || m.FromEmail != testSender.Email {
				t.Errorf("headers %+v", m)
			}
		})
	}
}
