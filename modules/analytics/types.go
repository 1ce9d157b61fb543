package analytics

import "time"

// Home is what the CMA knows of a property.
type Home struct {
	ID           int
	ExternalRef  string
	Address      string
	Zip          string
	Latitude     float64
	Longitude    float64
	PropertyType string
	Beds         *int
	Baths        *float64
	Sqft         *int
	LotSqft      *int
	YearBuilt    *int
	GarageSpaces *int
	ListPrice    *int
	SalePrice    *int
	SaleDate     *time.Time
}

// Options tune one CMA. Zero values take the defaults noted.
type Options struct {
	// AsOf is the valuation date: when sale dates are known, only earlier
	// sales count (default: now).
	AsOf *time.Time `json:"asOf,omitempty"`
	// MinComps is the fewest comparable sales that give a value (default 3).
	MinComps int `json:"minComps,omitempty"`
	// MaxComps is the most comparable sales used (default 10).
	MaxComps int `json:"maxComps,omitempty"`
	// MaxRadiusMiles caps the search radius (default 10).
	MaxRadiusMiles float64 `json:"maxRadiusMiles,omitempty"`
	// MaxLookbackMonths caps how far back sales count (default 36).
	MaxLookbackMonths int `json:"maxLookbackMonths,omitempty"`
}

func (o Options) withDefaults(now time.Time) Options {
	if o.AsOf == nil {
		o.AsOf = &now
	}
	if o.MinComps <= 0 {
		o.MinComps = 3
	}
	if o.MaxComps <= 0 {
		o.MaxComps = 10
	}
	if o.MaxComps < o.MinComps {
		o.MaxComps = o.MinComps
	}
	if o.MaxRadiusMiles <= 0 {
		o.MaxRadiusMiles = 10
	}
	if o.MaxLookbackMonths <= 0 {
		o.MaxLookbackMonths = 36
	}
	return o
}

// Report is a CMA's result. Every figure can be traced: the value is the
// weighted median of the comps' adjusted prices, each adjustment is a market
// rate times a difference, and the rates come from MarketRates, fitted on
// the nearby sales.
type Report struct {
	SubjectID            int           `json:"subjectId"`
	AsOf                 time.Time     `json:"asOf"`
	EstimatedValue       int           `json:"estimatedValue"`
	ValueLow             int           `json:"valueLow"`
	ValueHigh            int           `json:"valueHigh"`
	Confidence           string        `json:"confidence"` // HIGH, MEDIUM or LOW
	ConfidenceReason     string        `json:"confidenceReason"`
	MedianPricePerSqft   *float64      `json:"medianPricePerSqft,omitempty"`
	SearchRadiusMiles    float64       `json:"searchRadiusMiles"`
	LookbackMonths       *int          `json:"lookbackMonths,omitempty"`
	CandidatesConsidered int           `json:"candidatesConsidered"`
	Comps                []Comp        `json:"comps"`
	MarketRates          []MarketRate  `json:"marketRates"`
	Market               MarketContext `json:"market"`
}

// Comp is one comparable sale and how it was adjusted to the subject.
type Comp struct {
	PropertyID    int          `json:"propertyId"`
	ExternalRef   string       `json:"externalRef,omitempty"`
	Address       string       `json:"address,omitempty"`
	Zip           string       `json:"zip,omitempty"`
	DistanceMiles float64      `json:"distanceMiles"`
	SalePrice     int          `json:"salePrice"`
	SaleDate      *time.Time   `json:"saleDate,omitempty"`
	Sqft          *int         `json:"sqft,omitempty"`
	Beds          *int         `json:"beds,omitempty"`
	Baths         *float64     `json:"baths,omitempty"`
	Adjustments   []Adjustment `json:"adjustments"`
	AdjustedPrice int          `json:"adjustedPrice"`
	Weight        float64      `json:"weight"`
	Similarity    float64      `json:"similarity"`
}

// Adjustment is one feature's contribution to a comp's adjusted price.
type Adjustment struct {
	Feature string  `json:"feature"`
	Amount  int     `json:"amount"`
	Percent float64 `json:"percent"`
	Reason  string  `json:"reason"`
}

// MarketRate is what one unit of a feature is worth in the local market, in
// percent of price, as the regression over nearby sales found it.
type MarketRate struct {
	Feature        string  `json:"feature"`
	PercentPerUnit float64 `json:"percentPerUnit"`
	Unit           string  `json:"unit"`
	Used           bool    `json:"used"`
	Reason         string  `json:"reason"`
}

// MarketContext describes the market the subject will meet.
type MarketContext struct {
	ActiveListings     int      `json:"activeListings"`
	SaleToListRatio    *float64 `json:"saleToListRatio,omitempty"`
	SalesWithListPrice int      `json:"salesWithListPrice"`
}

// IsStepOutput marks a Report as a step's typed output.
func (*Report) IsStepOutput() {}
