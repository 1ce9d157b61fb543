package crm

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"entgo.io/ent/dialect/sql"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/predicate"
	"github.com/estateflow/estateflow/ent/property"
)

// ListingMatch is an active listing that fits a client, and why.
type ListingMatch struct {
	PropertyID int     `json:"propertyId"`
	Address    string  `json:"address"`
	City       string  `json:"city"`
	Zip        string  `json:"zip"`
	Latitude   float64 `json:"latitude"`
	Longitude  float64 `json:"longitude"`
	ListPrice  int     `json:"listPrice"`
	Beds       *int    `json:"beds,omitempty"`
	Rank       int     `json:"rank"`
	Reason     string  `json:"reason"`
}

// listingFit selects the active listings in the client's preferred areas
// (ZIP codes or cities), within budget and with enough bedrooms.
func listingFit(c *ent.Contact) []predicate.Property {
	preds := []predicate.Property{property.StatusEQ(property.StatusACTIVE)}
	if c.BudgetMax != nil {
		preds = append(preds, property.ListPriceLTE(*c.BudgetMax))
	}
	if c.BudgetMin != nil {
		preds = append(preds, property.ListPriceGTE(*c.BudgetMin))
	}
	if c.DesiredBeds != nil {
		preds = append(preds, property.BedsGTE(*c.DesiredBeds))
	}
	if len(c.PreferredAreas) > 0 {
		preds = append(preds, property.Or(property.ZipIn(c.PreferredAreas...), property.CityIn(c.PreferredAreas...)))
	}
	return preds
}

// maxCandidates bounds the listings ranked for one client.
const maxCandidates = 200

// MatchListings ranks the active listings that fit the client: closest to
// the middle of the budget first, then most bedrooms over the wish. A
// client with no budget matches nothing, since price fit is the point.
func MatchListings(ctx context.Context, db *ent.Client, c *ent.Contact, limit int) ([]ListingMatch, error) {
	if c.BudgetMax == nil {
		return nil, nil
	}
	mid := float64(*c.BudgetMax)
	if c.BudgetMin != nil {
		mid = (float64(*c.BudgetMin) + float64(*c.BudgetMax)) / 2
	}
	// The listings nearest the middle of the budget, from both sides, so
	// that a client with many matches is not shown only the cheapest.
	below, err := db.Property.Query().Where(append(listingFit(c), property.ListPriceLTE(int(mid)))...).
		Order(property.ByListPrice(sql.OrderDesc())).Limit(maxCandidates / 2).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("matching listings: %w", err)
	}
	above, err := db.Property.Query().Where(append(listingFit(c), property.ListPriceGT(int(mid)))...).
		Order(property.ByListPrice()).Limit(maxCandidates / 2).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("matching listings: %w", err)
	}
	props := append(below, above...)
	type scored struct {
		p   *ent.Property
		gap float64
	}
	var list []scored
	for _, p := range props {
		list = append(list, scored{p: p, gap: math.Abs(float64(*p.ListPrice)-mid) / mid})
	}
	slices.SortStableFunc(list, func(a, b scored) int { return cmp.Compare(a.gap, b.gap) })
	if len(list) > limit {
		list = list[:limit]
	}
	out := make([]ListingMatch, len(list))
	for i, s := range list {
		p := s.p
		var why []string
		if len(c.PreferredAreas) > 0 {
			area := p.Zip
			if !slices.Contains(c.PreferredAreas, p.Zip) {
				area = p.City
			}
			why = append(why, "in "+area+", one of the client's areas")
		}
		why = append(why, fmt.Sprintf("listed at %d, %.0f%% from the middle of the budget", *p.ListPrice, s.gap*100))
		if c.DesiredBeds != nil && p.Beds != nil {
			why = append(why, fmt.Sprintf("%d bedrooms for a wish of %d", *p.Beds, *c.DesiredBeds))
		}
		out[i] = ListingMatch{
			PropertyID: p.ID, Address: p.Address, City: p.City, Zip: p.Zip, Latitude: p.Latitude, Longitude: p.Longitude,
			ListPrice: *p.ListPrice, Beds: p.Beds, Rank: i + 1, Reason: strings.Join(why, "; "),
		}
	}
	return out, nil
}
