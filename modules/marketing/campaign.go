package marketing

import (
	"github.com/estateflow/estateflow/internal/numfmt"

	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/modules/approval"
	"github.com/estateflow/estateflow/modules/strategy"
)

// MarketingCampaign is the MARKETING_CAMPAIGN step's output.
type MarketingCampaign struct {
	PropertyID int `json:"propertyId"`
	// Price is the advertised price: the pricing option an approval among
	// the campaign's dependencies chose (PriceSource APPROVED_OPTION, the
	// option in PricingOption); else the property's list price when it
	// has one (PriceSource LIST_PRICE); else the strategy's option named
	// in PricingOption (PriceSource PRICING_OPTION).
	Price         int      `json:"price"`
	PriceSource   string   `json:"priceSource"`
	PricingOption string   `json:"pricingOption,omitempty"`
	PriceNote     string   `json:"priceNote"`
	Headlines     []string `json:"headlines"`
	Description   string   `json:"description"`
	Bullets       []string `json:"bullets"`
	// PostMessages are the buyer-facing facts the social posts rotate.
	PostMessages []string `json:"postMessages"`
	// ListingURL is the organization's website plus ListingPath; empty,
	// with LinkNote saying why, when the organization has no website.
	ListingURL  string           `json:"listingUrl,omitempty"`
	LinkNote    string           `json:"linkNote,omitempty"`
	OpenHouse   *OpenHouse       `json:"openHouse,omitempty"`
	Budget      int              `json:"budget"`
	Channels    []Channel        `json:"channels"`
	LaunchDate  time.Time        `json:"launchDate"`
	WindowDays  int              `json:"windowDays"`
	FairHousing FairHousingCheck `json:"fairHousing"`
	// BuyerLanguage reports the check for appraisal language (comparisons
	// with comps), which has no place in consumer copy.
	BuyerLanguage LanguageCheck `json:"buyerLanguage"`
}

// IsStepOutput marks a MarketingCampaign as a step's typed output.
func (*MarketingCampaign) IsStepOutput() {}

// OpenHouse is the first open house, from the strategy's timeline.
type OpenHouse struct {
	Date  time.Time `json:"date"`
	Hours string    `json:"hours"`
}

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

// Price sources.
const (
	PriceFromListPrice = "LIST_PRICE"
	PriceFromOption    = "PRICING_OPTION"
	PriceFromApproval  = "APPROVED_OPTION"
)

// advertisedOption is the pricing option advertised when the property has
// no list price: the CMA value. The agent sets the list price to advertise
// another.
const advertisedOption = "AT_MARKET"

// ListingPath is where the organization's website shows a listing:
// website + "/listings/" + the property's ID. Posts and ads link there.
const ListingPath = "/listings/%d"

// ListingURL is the listing's page on the organization's website, or ""
// when the organization has none.
func ListingURL(website string, propertyID int) string {
	if strings.TrimSpace(website) == "" {
		return ""
	}
	return strings.TrimRight(website, "/") + fmt.Sprintf(ListingPath, propertyID)
}

// CampaignInput is what a campaign is assembled from.
type CampaignInput struct {
	// Home is the property; its ListPrice, when set, is the advertised
	// price.
	Home     analytics.Home
	City     string
	Type     string
	Features []string
	Strategy *strategy.ListingStrategy
	// Approval, when an APPROVAL step among the campaign's dependencies
	// chose a pricing option, sets the advertised price.
	Approval *approval.Output
	Budget   int
	// Website is the organization's website ("" when it has none).
	Website string
}

// BuildCampaign assembles buyer-facing copy from the home's facts and the
// strategy's buyer copy (never its comparisons with comps), splits the
// budget over channels by the strategy's audience, and checks all copy
// against the fair-housing terms and the appraisal-language patterns;
// offending text is left out and reported.
func BuildCampaign(in CampaignInput) MarketingCampaign {
	s := in.Strategy
	h := in.Home
	c := MarketingCampaign{PropertyID: h.ID, ListingURL: ListingURL(in.Website, h.ID)}
	if a := in.Approval; a != nil && a.Choice != nil && a.Choice.Kind == approval.ChoicePricingOption {
		c.Price, c.PriceSource, c.PricingOption = a.Choice.Price, PriceFromApproval, a.Choice.Name
		c.PriceNote = fmt.Sprintf("the %s pricing option, chosen at approval by %s", a.Choice.Name, a.DecidedBy)
		if h.ListPrice != nil && *h.ListPrice > 0 && *h.ListPrice != c.Price {
			c.PriceNote += fmt.Sprintf("; the property's list price, $%s, differs: update it before the campaign goes out", numfmt.Thousands(*h.ListPrice))
		}
	} else if h.ListPrice != nil && *h.ListPrice > 0 {
		c.Price, c.PriceSource = *h.ListPrice, PriceFromListPrice
		c.PriceNote = "the property's list price"
	} else {
		c.PriceSource, c.PricingOption = PriceFromOption, advertisedOption
		for _, o := range s.PricingOptions {
			if o.Name == advertisedOption {
				c.Price = o.Price
			}
		}
		c.PriceNote = "the property has no list price: the strategy's AT_MARKET option (the CMA value) is advertised; set the list price to advertise another"
	}
	if c.ListingURL == "" {
		c.LinkNote = "the organization has no website (organization.website): the copy carries no listing link, and social posts cannot be scheduled until it is set"
	}
	for _, m := range s.Timeline {
		switch m.Name {
		case "LIVE":
			c.LaunchDate = m.Date
		case "FIRST_OPEN_HOUSE":
			c.OpenHouse = &OpenHouse{Date: m.Date, Hours: strategy.OpenHouseHours}
		}
	}
	facts := homeFacts(h, in.Type)
	place := in.City
	if h.Zip != "" {
		place = fmt.Sprintf("%s %s", in.City, h.Zip)
	}
	var highlights []string // the strategy's advantages, as plain facts
	// things is the highlights a headline can pair ("solar panels and a
	// 3-car garage"); the build year reads as a fact, not a feature, and
	// stays in the bullets and the description.
	var things []string
	for _, u := range s.USPs {
		if u.BuyerCopy != "" {
			highlights = append(highlights, u.BuyerCopy)
			if u.Feature != "yearBuilt" {
				things = append(things, u.BuyerCopy)
			}
		}
	}
	headlines := []string{fmt.Sprintf("Just listed in %s: %s", in.City, facts)}
	if len(things) > 0 {
		first := slices.Clone(things[:min(2, len(things))])
		for i := 1; i < len(first); i++ {
			first[i] = lowerFirst(first[i])
		}
		headlines = append(headlines, fmt.Sprintf("%s: %s", orDefault(h.Address, "New listing"), joinAnd(first)))
	}
	if h.Address != "" && c.Price > 0 {
		headlines = append(headlines, fmt.Sprintf("%s, offered at $%s", h.Address, numfmt.Thousands(c.Price)))
	}
	bullets := slices.Clone(highlights)
	sentences := []string{fmt.Sprintf("Welcome to %s, a %s in %s.", orDefault(h.Address, "this home"), facts, place)}
	if h.YearBuilt != nil {
		sentences = append(sentences, fmt.Sprintf("Built in %d.", *h.YearBuilt))
	}
	if len(in.Features) > 0 {
		sentences = append(sentences, "Features include "+joinAnd(in.Features)+".")
	}
	if c.Price > 0 {
		sentences = append(sentences, fmt.Sprintf("Offered at $%s.", numfmt.Thousands(c.Price)))
	}
	if c.OpenHouse != nil {
		sentences = append(sentences, fmt.Sprintf("Open house %s, %s.", c.OpenHouse.Date.Format("Monday, January 2"), c.OpenHouse.Hours))
	}
	if c.ListingURL != "" {
		sentences = append(sentences, "Photos, floor plan and showings: "+c.ListingURL)
	}
	messages := postMessages(h, in.City, place, facts, c.Price, highlights)

	c.FairHousing = FairHousingCheck{TermsChecked: len(fairHousingTerms), Removed: []string{}}
	c.BuyerLanguage = LanguageCheck{PatternsChecked: len(comparisonPatterns), Removed: []string{}}
	for _, texts := range []*[]string{&headlines, &bullets, &sentences, &messages} {
		*texts, c.FairHousing.Removed = dropFlagged(*texts, c.FairHousing.Removed)
		*texts, c.BuyerLanguage.Removed = dropComparisons(*texts, c.BuyerLanguage.Removed)
	}
	c.FairHousing.Passed = len(c.FairHousing.Removed) == 0
	c.BuyerLanguage.Passed = len(c.BuyerLanguage.Removed) == 0
	c.Headlines, c.Bullets, c.Description, c.PostMessages = headlines, bullets, strings.Join(sentences, " "), messages
	c.Budget = in.Budget
	if c.Budget <= 0 {
		c.Budget = DefaultBudget
	}
	c.Channels, c.WindowDays = splitBudget(c.Budget, s.AudienceSegments), campaignWindowDays
	return c
}

// postMessages are the facts the posts rotate: what the home is, where,
// its price, and each highlight on its own.
func postMessages(h analytics.Home, city, place, facts string, price int, highlights []string) []string {
	at := orDefault(h.Address, "this "+city+" home")
	out := []string{fmt.Sprintf("Just listed in %s: %s at %s.", place, facts, at)}
	if price > 0 {
		out = append(out, fmt.Sprintf("%s, offered at $%s.", capitalize(facts), numfmt.Thousands(price)))
	}
	for _, hl := range highlights {
		out = append(out, fmt.Sprintf("At %s: %s.", at, lowerFirst(hl)))
	}
	if h.YearBuilt != nil {
		out = append(out, fmt.Sprintf("Built in %d: %s in %s.", *h.YearBuilt, facts, city))
	}
	return out
}

// propertyKinds are the buyer's words for the property types.
var propertyKinds = map[string]string{
	"SINGLE_FAMILY": "single-family home", "CONDO": "condo", "TOWNHOUSE": "townhouse",
	"MULTI_FAMILY": "multi-family property", "LAND": "lot",
}

func homeFacts(h analytics.Home, propertyType string) string {
	kind, ok := propertyKinds[propertyType]
	if !ok {
		kind = strings.ReplaceAll(strings.ToLower(propertyType), "_", "-")
	}
	var parts []string
	if h.Beds != nil {
		parts = append(parts, fmt.Sprintf("%d-bedroom", *h.Beds))
	}
	if h.Baths != nil {
		parts = append(parts, fmt.Sprintf("%g-bath", *h.Baths))
	}
	parts = append(parts, kind)
	out := strings.Join(parts, ", ")
	if len(parts) > 1 {
		// "3-bedroom, 2.5-bath single-family home"
		out = strings.Join(parts[:len(parts)-1], ", ") + " " + kind
	}
	if h.Sqft != nil {
		out += fmt.Sprintf(" with %s sq ft", numfmt.Thousands(*h.Sqft))
	}
	return out
}

// lowerFirst lower-cases the capital that starts a highlight ("Smart
// thermostat"), when it is not first in its sentence.
func lowerFirst(s string) string {
	if s == "" || strings.ToLower(s[:1]) == s[:1] || (len(s) > 1 && strings.ToUpper(s[1:2]) == s[1:2] && strings.ToLower(s[1:2]) != s[1:2]) {
		return s // not a capital, or an acronym (HVAC)
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// joinAnd writes a list as "a, b and c".
func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
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
