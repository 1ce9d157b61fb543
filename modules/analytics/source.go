package analytics

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/predicate"
	"github.com/estateflow/estateflow/ent/property"
)

// Box is a latitude/longitude rectangle.
type Box struct{ MinLat, MaxLat, MinLng, MaxLng float64 }

// boxAround returns the rectangle that contains the circle of radius miles
// around a point.
func boxAround(lat, lng, miles float64) Box {
	dLat := miles / 69.0
	dLng := miles / (69.0 * math.Max(0.01, math.Cos(lat*math.Pi/180)))
	return Box{MinLat: lat - dLat, MaxLat: lat + dLat, MinLng: lng - dLng, MaxLng: lng + dLng}
}

// SalesQuery selects closed sales.
type SalesQuery struct {
	Box          Box
	PropertyType string
	SoldBefore   *time.Time // only sales strictly before (undated sales pass)
	SoldAfter    *time.Time // only sales on or after (undated sales pass)
	ExcludeID    int
	// Outside, when set, leaves out the sales inside this box: a wider
	// search reads only the ring it adds.
	Outside *Box
}

// Source is where a CMA finds sales and listings.
type Source interface {
	Sales(ctx context.Context, q SalesQuery) ([]Home, error)
	ActiveListings(ctx context.Context, box Box, propertyType string) (int, error)
}

// EntSource reads the viewer's organization's properties through ent. Its
// queries filter on a latitude range first, which the (organization,
// latitude, longitude) index serves, so they never scan the whole table.
type EntSource struct{ Client *ent.Client }

// Sales implements Source.
func (s EntSource) Sales(ctx context.Context, q SalesQuery) ([]Home, error) {
	preds := []predicate.Property{
		property.LatitudeGTE(q.Box.MinLat), property.LatitudeLTE(q.Box.MaxLat),
		property.LongitudeGTE(q.Box.MinLng), property.LongitudeLTE(q.Box.MaxLng),
		property.StatusEQ(property.StatusSOLD), property.SalePriceNotNil(),
		property.PropertyTypeEQ(property.PropertyType(q.PropertyType)),
		property.IDNEQ(q.ExcludeID),
	}
	if q.SoldBefore != nil {
		preds = append(preds, property.Or(property.SaleDateIsNil(), property.SaleDateLT(*q.SoldBefore)))
	}
	if q.SoldAfter != nil {
		preds = append(preds, property.Or(property.SaleDateIsNil(), property.SaleDateGTE(*q.SoldAfter)))
	}
	if b := q.Outside; b != nil {
		preds = append(preds, property.Or(
			property.LatitudeLT(b.MinLat), property.LatitudeGT(b.MaxLat),
			property.LongitudeLT(b.MinLng), property.LongitudeGT(b.MaxLng)))
	}
	query := s.Client.Property.Query().Where(preds...)
	// Only what HomeOf reads: a CMA loads hundreds of sales, and decoding
	// their descriptions, feature lists and timestamps was a third of a
	// real New Listing's CPU.
	props, err := query.Select(homeFields()...).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("analytics: loading sales: %w", err)
	}
	homes := make([]Home, len(props))
	for i, p := range props {
		homes[i] = HomeOf(p)
	}
	return homes, nil
}

// ActiveListings implements Source.
func (s EntSource) ActiveListings(ctx context.Context, box Box, propertyType string) (int, error) {
	n, err := s.Client.Property.Query().Where(
		property.LatitudeGTE(box.MinLat), property.LatitudeLTE(box.MaxLat),
		property.LongitudeGTE(box.MinLng), property.LongitudeLTE(box.MaxLng),
		property.StatusEQ(property.StatusACTIVE),
		property.PropertyTypeEQ(property.PropertyType(propertyType)),
	).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("analytics: counting listings: %w", err)
	}
	return n, nil
}

// homeFields are the columns HomeOf reads.
func homeFields() []string {
	return []string{
		property.FieldID, property.FieldAddress, property.FieldZip, property.FieldLatitude, property.FieldLongitude,
		property.FieldPropertyType, property.FieldBeds, property.FieldBaths, property.FieldSqft, property.FieldLotSqft,
		property.FieldYearBuilt, property.FieldGarageSpaces, property.FieldListPrice, property.FieldSalePrice,
		property.FieldSaleDate, property.FieldExternalRef,
	}
}

// HomeOf converts a stored property.
func HomeOf(p *ent.Property) Home {
	h := Home{
		ID: p.ID, Address: p.Address, Zip: p.Zip, Latitude: p.Latitude, Longitude: p.Longitude, PropertyType: string(p.PropertyType),
		Beds: p.Beds, Baths: p.Baths, Sqft: p.Sqft, LotSqft: p.LotSqft, YearBuilt: p.YearBuilt, GarageSpaces: p.GarageSpaces,
		ListPrice: p.ListPrice, SalePrice: p.SalePrice, SaleDate: p.SaleDate,
	}
	if p.ExternalRef != nil {
		h.ExternalRef = *p.ExternalRef
	}
	return h
}
