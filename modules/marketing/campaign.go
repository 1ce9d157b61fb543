package marketing

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/modules/strategy"
)

// MarketingCampaign is the MARKETING_CAMPAIGN step's output.
type MarketingCampaign struct {
	PropertyID  int              `json:"propertyId"`
	Price       int              `json:"price"`
	Headlines   []string         `json:"headlines"`
	Description string           `json:"description"`
	Bullets     []string         `json:"bullets"`
	Budget      int              `json:"budget"`
	Channels    []Channel        `json:"channels"`
	LaunchDate  time.Time        `json:"launchDate"`
	WindowDays  int              `json:"windowDays"`
	FairHousing FairHousingCheck `json:"fairHousing"`
}

// IsStepOutput marks a MarketingCampaign as a step's typed output.
func (*MarketingCampaign) IsStepOutput() {}

// Channel is where part of the budget goes.
type Channel struct {
	Channel string  `json:"channel"`
	Share   float64 `json:"share"`
	Amount  int     `json:"amount"`
	Reason  string  `json:"reason"`
}

// DefaultBudget is the campaign budget when the run's params set none.
const DefaultBudget = 1500

// campaignWindowDays is how long the launch campaign runs.
const campaignWindowDays = 14

// CampaignInput is what a campaign is assembled from.
type CampaignInput struct {
	Home     analytics.Home
	City     string
	Type     string
	Features []string
	Strategy *strategy.ListingStrategy
	Budget   int
}

// BuildCampaign assembles the copy from the home's facts and the strategy,
// splits the budget over channels by the strategy's audience, and checks
// all copy against the fair-housing terms; offending text is left out.
func BuildCampaign(in CampaignInput) MarketingCampaign {
	s := in.Strategy
	price := 0
	for _, o := range s.PricingOptions {
		if o.Name == "AT_MARKET" {
			price = o.Price
		}
	}
	launch := time.Time{}
	for _, m := range s.Timeline {
		if m.Name == "LIVE" {
			launch = m.Date
		}
	}
	kind := strings.ReplaceAll(strings.ToLower(in.Type), "_", "-")
	h := in.Home
	facts := homeFacts(h, kind, in.City)
	var headlines []string
	headlines = append(headlines, fmt.Sprintf("Just listed in %s: %s", in.City, facts))
	if len(s.USPs) > 0 {
		headlines = append(headlines, fmt.Sprintf("%s: %s", capitalize(facts), s.USPs[0].Claim))
	}
	if h.Address != "" && price > 0 {
		headlines = append(headlines, fmt.Sprintf("%s, offered at $%s", h.Address, thousands(price)))
	}
	bullets := []string{}
	for _, u := range s.USPs {
		if u.Feature == "listedFeature" {
			bullets = append(bullets, capitalize(strings.TrimPrefix(u.Claim, "listed feature: ")))
		} else {
			bullets = append(bullets, capitalize(u.Claim))
		}
	}
	sentences := []string{fmt.Sprintf("Welcome to %s, a %s in %s.", orDefault(h.Address, "this home"), facts, in.City)}
	if h.YearBuilt != nil {
		sentences = append(sentences, fmt.Sprintf("Built in %d.", *h.YearBuilt))
	}
	if len(in.Features) > 0 {
		sentences = append(sentences, "Features include "+strings.Join(in.Features, ", ")+".")
	}
	if price > 0 {
		sentences = append(sentences, fmt.Sprintf("Offered at $%s.", thousands(price)))
	}
	check := FairHousingCheck{TermsChecked: len(fairHousingTerms), Removed: []string{}}
	headlines, check.Removed = dropFlagged(headlines, check.Removed)
	bullets, check.Removed = dropFlagged(bullets, check.Removed)
	sentences, check.Removed = dropFlagged(sentences, check.Removed)
	check.Passed = len(check.Removed) == 0
	budget := in.Budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	return MarketingCampaign{
		PropertyID: h.ID, Price: price, Headlines: headlines, Description: strings.Join(sentences, " "), Bullets: bullets,
		Budget: budget, Channels: splitBudget(budget, s.AudienceSegments), LaunchDate: launch, WindowDays: campaignWindowDays,
		FairHousing: check,
	}
}

func homeFacts(h analytics.Home, kind, city string) string {
	var parts []string
	if h.Beds != nil {
		parts = append(parts, fmt.Sprintf("%d-bedroom", *h.Beds))
	}
	if h.Baths != nil {
		parts = append(parts, fmt.Sprintf("%g-bath", *h.Baths))
	}
	parts = append(parts, kind)
	if h.Sqft != nil {
		parts = append(parts, fmt.Sprintf("of %s sq ft", thousands(*h.Sqft)))
	}
	return strings.Join(parts, " ")
}

// channelBase is the default budget split; the audience shifts it.
var channelBase = []struct {
	channel string
	weight  float64
	reason  string
}{
	{"SOCIAL_ADS", 40, "housing-category ads reach buyers browsing in the area"},
	{"PAID_SEARCH", 25, "buyers searching the address and the neighborhood"},
	{"EMAIL", 10, "the brokerage's buyer list and agents"},
	{"OPEN_HOUSE", 15, "signs, flyers and refreshments for the open house"},
	{"PRINT", 10, "brochures and local print"},
}

// splitBudget shares the budget by channel weights adjusted for the
// audience segments; amounts are whole dollars that add up to the budget.
func splitBudget(budget int, segments []strategy.AudienceSegment) []Channel {
	weights := map[string]float64{}
	reasons := map[string]string{}
	for _, c := range channelBase {
		weights[c.channel], reasons[c.channel] = c.weight, c.reason
	}
	for _, s := range segments {
		switch s.Segment {
		case "FIRST_TIME_BUYER":
			weights["SOCIAL_ADS"] += 10
			reasons["SOCIAL_ADS"] += "; first-time buyers shop on social media"
		case "LUXURY_BUYER":
			weights["PRINT"] += 15
			reasons["PRINT"] += "; luxury buyers expect a printed brochure"
		case "INVESTOR":
			weights["EMAIL"] += 15
			reasons["EMAIL"] += "; investors are reached through agent and investor lists"
		case "RELOCATING_BUYER":
			weights["PAID_SEARCH"] += 10
			reasons["PAID_SEARCH"] += "; relocating buyers search from afar"
		}
	}
	var total float64
	for _, w := range weights {
		total += w
	}
	channels := make([]Channel, 0, len(channelBase))
	assigned := 0
	for _, c := range channelBase {
		share := weights[c.channel] / total
		amount := int(math.Floor(share * float64(budget)))
		assigned += amount
		channels = append(channels, Channel{Channel: c.channel, Share: math.Round(share*1000) / 1000, Amount: amount, Reason: reasons[c.channel]})
	}
	channels[0].Amount += budget - assigned // the rounding remainder
	return channels
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
