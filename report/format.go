package report

import (
	"github.com/estateflow/estateflow/internal/numfmt"

	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/modules/approval"
	"github.com/estateflow/estateflow/modules/crm"
	"github.com/estateflow/estateflow/modules/marketing"
	"github.com/estateflow/estateflow/modules/strategy"
)

// summarize says in one line what a step produced, or why it did not.
func summarize(s Step) string {
	switch out := s.Output.(type) {
	case *analytics.Report:
		return fmt.Sprintf("Estimated value %s (80%% range %s–%s), %s confidence, from %d comparable sales",
			numfmt.Dollars(out.EstimatedValue), numfmt.Dollars(out.ValueLow), numfmt.Dollars(out.ValueHigh), strings.ToLower(out.Confidence), out.ValueCompCount)
	case *strategy.ListingStrategy:
		prices := make([]string, 0, len(out.PricingOptions))
		for _, p := range out.PricingOptions {
			prices = append(prices, humanName(p.Name)+" "+numfmt.Dollars(p.Price))
		}
		return fmt.Sprintf("%s market; pricing options: %s; %d milestones", humanName(out.Market.Temperature), strings.Join(prices, ", "), len(out.Timeline))
	case *marketing.MarketingCampaign:
		return fmt.Sprintf("Campaign at %s: %d headlines, %s budget over %d channels from %s",
			numfmt.Dollars(out.Price), len(out.Headlines), numfmt.Dollars(out.Budget), len(out.Channels), day(out.LaunchDate))
	case *marketing.SocialSchedule:
		return fmt.Sprintf("%d social posts scheduled (%d skipped)", len(out.Posts), out.Skipped)
	case *marketing.EmailSequence:
		return fmt.Sprintf("%d emails planned for a %s lead", len(out.Messages), strings.ToLower(out.Tier))
	case *marketing.SocialTargeting:
		return fmt.Sprintf("%d listings matched; audience within %.1f miles", len(out.Listings), out.Audience.RadiusMiles)
	case *crm.LeadScore:
		return fmt.Sprintf("Lead score %d (%s)", out.Score, strings.ToLower(out.Tier))
	case *crm.FollowUpPlan:
		return fmt.Sprintf("%d follow-up tasks for a %s lead", len(out.Tasks), strings.ToLower(out.Tier))
	case *approval.Output:
		line := fmt.Sprintf("%s by %s", humanName(out.Decision), out.DecidedBy)
		if out.Choice != nil {
			line += "; chose " + out.Choice.Label
		}
		if out.Comment != "" {
			line += ": " + out.Comment
		}
		return line
	}
	switch {
	case s.Error != nil:
		return "Failed: " + *s.Error
	case s.Status == "SKIPPED":
		return "Skipped: an upstream step did not succeed"
	case s.Status == "CANCELED":
		return "Canceled"
	case s.Status == "AWAITING_APPROVAL":
		return "Awaiting approval"
	case s.Status == "SUCCEEDED":
		return "Succeeded"
	}
	return "Not finished (" + strings.ToLower(s.Status) + ")"
}

// signedMoney is numfmt.Dollars with a sign for adjustments: +$5,000, -$1,200.
func signedMoney(n int) string {
	if n > 0 {
		return "+" + numfmt.Dollars(n)
	}
	return numfmt.Dollars(n)
}

// percent formats a fraction (0.053) as 5.3%.
func percent(f float64) string {
	return strconv.FormatFloat(math.Round(f*1000)/10, 'f', -1, 64) + "%"
}

func day(t time.Time) string { return t.UTC().Format("Jan 2, 2006") }

func timestamp(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func duration(secs *float64) string {
	if secs == nil {
		return ""
	}
	return strconv.FormatFloat(math.Round(*secs*1000)/1000, 'f', -1, 64)
}

// humanName turns an enum value into words: AT_MARKET → At market.
func humanName(enum string) string {
	s := strings.ToLower(strings.ReplaceAll(enum, "_", " "))
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func intOrEmpty(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}

func floatOrEmpty(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', -1, 64)
}

// subjectLine names the run's subject: the property's address, or the
// client's name.
func (r *Report) subjectLine() string {
	if p := r.Run.Property; p != nil {
		parts := []string{}
		for _, s := range []string{p.Address, p.City, strings.TrimSpace(p.State + " " + p.Zip)} {
			if s = strings.TrimSpace(s); s != "" {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ", ")
	}
	if c := r.Run.Client; c != nil {
		return c.Name
	}
	return ""
}

// title is the report's title: the package's name and the subject.
func (r *Report) title() string {
	name := r.Run.Package.Name
	if name == "" {
		name = "Run " + r.Run.ID
	}
	if s := r.subjectLine(); s != "" {
		return name + ": " + s
	}
	return name
}

// featureName turns a CMA feature's name into words: livingArea → Living
// area, lot_size → Lot size.
func featureName(f string) string {
	var b strings.Builder
	for i, r := range f {
		switch {
		case r == '_':
			b.WriteByte(' ')
		case i > 0 && r >= 'A' && r <= 'Z':
			b.WriteByte(' ')
			b.WriteRune(r + ('a' - 'A'))
		default:
			b.WriteRune(r)
		}
	}
	return humanName(strings.ToUpper(b.String()))
}
