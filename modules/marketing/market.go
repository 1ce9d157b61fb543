package marketing

import (
	"github.com/estateflow/estateflow/internal/numfmt"

	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/predicate"
	"github.com/estateflow/estateflow/ent/property"
)

// The "market update" email quotes figures from the organization's own
// records, for the client's areas: what an agent would pull before writing
// to a client, and nothing a reader could not check.
const (
	// marketPeriodDays is the length of the period each figure covers (a
	// quarter, as local market reports use), compared with the one before.
	marketPeriodDays = 90
	// minMarketSample is the fewest sales a median is quoted from; below it
	// the email says there were too few sales to say.
	minMarketSample = 5
)

// MarketFigures are the market-update email's figures, each with its period.
type MarketFigures struct {
	// Areas are the ZIP codes or cities the figures cover; empty means all
	// of the organization's records.
	Areas []string `json:"areas"`
	// The current period, [PeriodStart, PeriodEnd), and the one before it.
	PeriodStart time.Time `json:"periodStart"`
	PeriodEnd   time.Time `json:"periodEnd"`
	PriorStart  time.Time `json:"priorStart"`
	Sales       int       `json:"sales"`
	PriorSales  int       `json:"priorSales"`
	// Medians are nil when the period had fewer than minMarketSample sales
	// (days on market: sales with a list date).
	MedianSalePrice      *int     `json:"medianSalePrice,omitempty"`
	PriorMedianSalePrice *int     `json:"priorMedianSalePrice,omitempty"`
	PriceChangePercent   *float64 `json:"priceChangePercent,omitempty"`
	MedianDaysOnMarket   *int     `json:"medianDaysOnMarket,omitempty"`
	// ActiveListings is the count of ACTIVE listings as of PeriodEnd.
	ActiveListings int `json:"activeListings"`
	// Lines are the figures as the email quotes them.
	Lines []string `json:"lines"`
}

// Sale is one closed sale, as the figures read it.
type Sale struct {
	Price    int
	SoldAt   time.Time
	ListedAt *time.Time
}

// ComputeMarket works out the figures from the area's sales and active
// listing count. The periods end at the start of now's day, in loc: the
// figures cover whole days that have ended.
func ComputeMarket(areas []string, sales []Sale, active int, now time.Time, loc *time.Location) MarketFigures {
	local := now.In(loc)
	end := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	start := end.AddDate(0, 0, -marketPeriodDays)
	priorStart := start.AddDate(0, 0, -marketPeriodDays)
	f := MarketFigures{Areas: areas, PeriodStart: start.UTC(), PeriodEnd: end.UTC(), PriorStart: priorStart.UTC(), ActiveListings: active, Lines: []string{}}
	var prices, prior, dom []int
	for _, s := range sales {
		switch {
		case !s.SoldAt.Before(start) && s.SoldAt.Before(end):
			prices = append(prices, s.Price)
			if s.ListedAt != nil && !s.ListedAt.After(s.SoldAt) {
				dom = append(dom, int(s.SoldAt.Sub(*s.ListedAt).Hours()/24))
			}
		case !s.SoldAt.Before(priorStart) && s.SoldAt.Before(start):
			prior = append(prior, s.Price)
		}
	}
	f.Sales, f.PriorSales = len(prices), len(prior)
	f.MedianSalePrice, f.PriorMedianSalePrice, f.MedianDaysOnMarket = median(prices), median(prior), median(dom)
	if f.MedianSalePrice != nil && f.PriorMedianSalePrice != nil {
		pct := math.Round(float64(*f.MedianSalePrice-*f.PriorMedianSalePrice)/float64(*f.PriorMedianSalePrice)*1000) / 10
		f.PriceChangePercent = &pct
	}
	f.Lines = marketLines(f, loc)
	return f
}

// median of at least minMarketSample values, rounded down to whole units;
// nil below the sample.
func median(v []int) *int {
	if len(v) < minMarketSample {
		return nil
	}
	s := slices.Clone(v)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return &m
}

func marketLines(f MarketFigures, loc *time.Location) []string {
	period := dateRange(f.PeriodStart.In(loc), f.PeriodEnd.In(loc).AddDate(0, 0, -1))
	priorPeriod := dateRange(f.PriorStart.In(loc), f.PeriodStart.In(loc).AddDate(0, 0, -1))
	var lines []string
	if f.MedianSalePrice == nil {
		lines = append(lines, fmt.Sprintf("Sale prices: %s closed %s, too few for a meaningful median; we will send figures when there are more.",
			count(f.Sales, "sale", "sales"), period))
	} else {
		line := fmt.Sprintf("Median sale price: $%s, from %s closed %s", numfmt.Thousands(*f.MedianSalePrice), count(f.Sales, "sale", "sales"), period)
		switch {
		case f.PriceChangePercent == nil:
			line += fmt.Sprintf("; %s closed %s, too few to compare with.", count(f.PriorSales, "sale", "sales"), priorPeriod)
		case *f.PriceChangePercent == 0:
			line += fmt.Sprintf(", unchanged from the %s before (%s, %s).", "period", priorPeriod, count(f.PriorSales, "sale", "sales"))
		default:
			dir := "up"
			if *f.PriceChangePercent < 0 {
				dir = "down"
			}
			line += fmt.Sprintf(", %s %.1f%% from $%s (%s, %s).", dir, math.Abs(*f.PriceChangePercent),
				numfmt.Thousands(*f.PriorMedianSalePrice), priorPeriod, count(f.PriorSales, "sale", "sales"))
		}
		lines = append(lines, line)
	}
	if f.MedianDaysOnMarket == nil {
		lines = append(lines, fmt.Sprintf("Days on market: too few sales with a listing date closed %s to give a median.", period))
	} else {
		lines = append(lines, fmt.Sprintf("Median days on market: %s, for homes that sold %s.", count(*f.MedianDaysOnMarket, "day", "days"), period))
	}
	asOf := f.PeriodEnd.In(loc).Format("Jan 2, 2006")
	if f.ActiveListings == 0 {
		lines = append(lines, fmt.Sprintf("Homes for sale: none listed with us as of %s.", asOf))
	} else {
		lines = append(lines, fmt.Sprintf("Homes for sale: %s listed with us as of %s.", count(f.ActiveListings, "home", "homes"), asOf))
	}
	return lines
}

// dateRange writes "Sep 6–Dec 4, 2026", or "Nov 8, 2025–Feb 5, 2026"
// across a new year.
func dateRange(from, to time.Time) string {
	if from.Year() == to.Year() {
		return from.Format("Jan 2") + "–" + to.Format("Jan 2, 2006")
	}
	return from.Format("Jan 2, 2006") + "–" + to.Format("Jan 2, 2006")
}

// count writes n with the noun's singular or plural; "no" for zero.
func count(n int, one, many string) string {
	switch n {
	case 0:
		return "no " + many
	case 1:
		return "1 " + one
	}
	return numfmt.Thousands(n) + " " + many
}

// areaPredicate selects the properties in the areas (ZIP codes or cities,
// as preferred_areas holds them); none selects every property.
func areaPredicate(areas []string) []predicate.Property {
	if len(areas) == 0 {
		return nil
	}
	return []predicate.Property{property.Or(property.ZipIn(areas...), property.CityIn(areas...))}
}

// LoadMarket reads the sales of the two periods and the active listings in
// the areas, from the viewer organization's properties, and computes the
// figures.
func LoadMarket(ctx context.Context, db *ent.Client, areas []string, now time.Time, loc *time.Location) (MarketFigures, error) {
	local := now.In(loc)
	end := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	from := end.AddDate(0, 0, -2*marketPeriodDays)
	sold, err := db.Property.Query().
		Where(append(areaPredicate(areas), property.StatusEQ(property.StatusSOLD), property.SalePriceNotNil(),
			property.SaleDateGTE(from), property.SaleDateLT(end))...).
		Select(property.FieldSalePrice, property.FieldSaleDate, property.FieldListDate).All(ctx)
	if err != nil {
		return MarketFigures{}, fmt.Errorf("reading sales for the market update: %w", err)
	}
	active, err := db.Property.Query().Where(append(areaPredicate(areas), property.StatusEQ(property.StatusACTIVE))...).Count(ctx)
	if err != nil {
		return MarketFigures{}, fmt.Errorf("counting active listings for the market update: %w", err)
	}
	sales := make([]Sale, 0, len(sold))
	for _, p := range sold {
		sales = append(sales, Sale{Price: *p.SalePrice, SoldAt: *p.SaleDate, ListedAt: p.ListDate})
	}
	return ComputeMarket(areas, sales, active, now, loc), nil
}

// areaNames writes the areas for a sentence: "78704, 78745 or Austin".
func areaNames(areas []string) string {
	switch len(areas) {
	case 0:
		return "the areas we cover"
	case 1:
		return areas[0]
	}
	return strings.Join(areas[:len(areas)-1], ", ") + " or " + areas[len(areas)-1]
}
