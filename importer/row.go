package importer

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/ent/schema"
)

// Row is one property read from a CSV line.
type Row struct {
	Line         int
	ExternalRef  *string
	Address      string
	City         string
	State        string
	Zip          string
	Latitude     float64
	Longitude    float64
	Type         property.PropertyType
	Beds         *int
	Baths        *float64
	Sqft         *int
	LotSqft      *int
	YearBuilt    *int
	GarageSpaces *int
	Status       property.Status
	ListPrice    *int
	ListDate     *time.Time
	SalePrice    *int
	SaleDate     *time.Time
}

// RowError says why a line was rejected.
type RowError struct {
	Line   int
	Reason string
}

func (e RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

var propertyTypes = map[string]property.PropertyType{
	"single_family": property.PropertyTypeSINGLE_FAMILY,
	"condo":         property.PropertyTypeCONDO,
	"townhouse":     property.PropertyTypeTOWNHOUSE,
	"multi_family":  property.PropertyTypeMULTI_FAMILY,
	"land":          property.PropertyTypeLAND,
}

var statuses = map[string]property.Status{
	"active":     property.StatusACTIVE,
	"pending":    property.StatusPENDING,
	"sold":       property.StatusSOLD,
	"off_market": property.StatusOFF_MARKET,
}

// rowParser turns a CSV record into a Row, by the header's column names.
type rowParser struct {
	index map[string]int
}

func newRowParser(header []string) (*rowParser, error) {
	p := &rowParser{index: map[string]int{}}
	for i, h := range header {
		p.index[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	for _, required := range []string{"latitude", "longitude"} {
		if _, ok := p.index[required]; !ok {
			return nil, fmt.Errorf("the header has no %q column", required)
		}
	}
	return p, nil
}

func (p *rowParser) cell(rec []string, name string) string {
	i, ok := p.index[name]
	if !ok || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// parse validates everything the database would, so that a row is either
// fully valid or rejected before any write.
func (p *rowParser) parse(line int, rec []string) (Row, error) {
	r := Row{Line: line}
	fail := func(format string, args ...any) (Row, error) {
		return Row{}, RowError{Line: line, Reason: fmt.Sprintf(format, args...)}
	}
	if ref := p.cell(rec, "id"); ref != "" {
		if len(ref) > 100 {
			return fail("id is longer than 100 characters")
		}
		r.ExternalRef = &ref
	}
	r.Address, r.City, r.State, r.Zip = p.cell(rec, "address"), p.cell(rec, "city"), p.cell(rec, "state"), p.cell(rec, "zip")
	for _, name := range []string{"id", "address", "city", "state", "zip"} {
		if v := p.cell(rec, name); !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return fail("%s is not valid UTF-8 text (save the file as UTF-8)", name)
		}
	}
	if r.City == "" {
		return fail("city is missing")
	}
	var err error
	if r.Latitude, err = p.coordinate(rec, "latitude", 90); err != nil {
		return fail("%v", err)
	}
	if r.Longitude, err = p.coordinate(rec, "longitude", 180); err != nil {
		return fail("%v", err)
	}
	r.Type = property.PropertyTypeSINGLE_FAMILY
	if v := strings.ToLower(p.cell(rec, "property_type")); v != "" {
		t, ok := propertyTypes[v]
		if !ok {
			return fail("unknown property_type %q (want single_family, condo, townhouse, multi_family or land)", v)
		}
		r.Type = t
	}
	ints := []struct {
		name     string
		dst      **int
		min, max int
	}{
		{"beds", &r.Beds, 0, 100}, {"sqft", &r.Sqft, 1, 1_000_000}, {"lot_sqft", &r.LotSqft, 1, 1_000_000_000},
		{"year_built", &r.YearBuilt, 1600, 2200}, {"garage_spaces", &r.GarageSpaces, 0, 50},
		{"list_price", &r.ListPrice, 1, math.MaxInt32}, {"sale_price", &r.SalePrice, 1, math.MaxInt32},
	}
	for _, f := range ints {
		v := p.cell(rec, f.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || n != math.Trunc(n) {
			return fail("%s %q is not a whole number", f.name, v)
		}
		if n < float64(f.min) || n > float64(f.max) {
			if n < 0 {
				return fail("%s is negative (%s)", f.name, v)
			}
			return fail("%s %s is out of range (%d to %d)", f.name, v, f.min, f.max)
		}
		i := int(n)
		*f.dst = &i
	}
	if v := p.cell(rec, "baths"); v != "" {
		b, err := strconv.ParseFloat(v, 64)
		if err != nil || b < 0 || b > 100 || math.Mod(b*2, 1) != 0 {
			return fail("baths %q must be a number of half baths, such as 2 or 2.5", v)
		}
		r.Baths = &b
	}
	for _, d := range []struct {
		name string
		dst  **time.Time
	}{{"list_date", &r.ListDate}, {"sale_date", &r.SaleDate}} {
		v := p.cell(rec, d.name)
		if v == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			return fail("%s %q is not an ISO date (YYYY-MM-DD)", d.name, v)
		}
		if t.Year() < schema.MinYear || t.Year() > schema.MaxYear {
			return fail("%s %s is out of range (%d to %d)", d.name, v, schema.MinYear, schema.MaxYear)
		}
		*d.dst = &t
	}
	switch v := strings.ToLower(p.cell(rec, "status")); {
	case v != "":
		s, ok := statuses[v]
		if !ok {
			return fail("unknown status %q (want active, pending, sold or off_market)", v)
		}
		r.Status = s
	case r.SalePrice != nil:
		r.Status = property.StatusSOLD
	default:
		r.Status = property.StatusACTIVE
	}
	if r.Status == property.StatusSOLD && r.SalePrice == nil {
		return fail("status is sold but sale_price is missing")
	}
	return r, nil
}

func (p *rowParser) coordinate(rec []string, name string, limit float64) (float64, error) {
	v := p.cell(rec, name)
	if v == "" {
		return 0, fmt.Errorf("%s is missing", name)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f < -limit || f > limit {
		return 0, fmt.Errorf("%s %q is not a number between %v and %v", name, v, -limit, limit)
	}
	return f, nil
}
