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
	// MaxComps is how many comparable sales the report shows in full
	// (default 10); the value comes from up to 50, the rest summarised.
	MaxComps int `json:"maxComps,omitempty"`
	// MaxRadiusMiles caps the search radius (default 10).
	MaxRadiusMiles float64 `json:"maxRadiusMiles,omitempty"`
	// MaxLookbackMonths caps how far back sales count (default 36).
	MaxLookbackMonths int `json:"maxLookbackMonths,omitempty"`
	// Calibration draws the 80% range from measured backtest errors; nil
	// leaves the range uncalibrated, and the report says so.
	Calibration *Calibration `json:"-"`
	// ignoreStoredCalibration keeps a backtest from reading the
	// organization's calibration for every value (it draws its own bands).
	ignoreStoredCalibration bool
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
// weighted median of the adjusted prices of up to 50 most similar comps
// (Comps shows the best of them in full, OtherComps summarises the rest),
// each adjustment is a market rate times a difference, and the rates come
// from MarketRates, fitted on the nearby sales weighted by similarity and
// pulled toward the area-wide rates. ValueLow–ValueHigh is an 80% band.
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
	// ValueCompCount is how many comps the value is the weighted median
	// of; CompSpread how much their adjusted prices disagree (a robust
	// standard deviation of their logs).
	ValueCompCount int          `json:"valueCompCount"`
	CompSpread     float64      `json:"compSpread"`
	OtherComps     *CompSummary `json:"otherComps,omitempty"`
	// FlaggedComps counts the value's comps beyond 15% net or 25% gross
	// adjustment; they are shown only where fewer than MinComps others are.
	FlaggedComps int `json:"flaggedComps"`
	// RangeCalibrated says whether the 80% range comes from measured
	// backtest errors; RangeNote says what it means, or why it is not
	// calibrated.
	RangeCalibrated bool       `json:"rangeCalibrated"`
	RangeNote       string     `json:"rangeNote"`
	CalibratedAt    *time.Time `json:"calibratedAt,omitempty"`
	// ListingNote is set when the subject's list price is outside the range.
	ListingNote string `json:"listingNote,omitempty"`
	// WeakSegments names where the subject falls where the method is weak.
	WeakSegments []string `json:"weakSegments"`
}

// CompSummary summarises the comps the value uses beyond those shown.
type CompSummary struct {
	Count int `json:"count"`
	// Weight is their share of the value.
	Weight         float64 `json:"weight"`
	MedianAdjusted int     `json:"medianAdjusted"`
	// Low and High are their adjusted prices' 10th and 90th percentiles.
	Low             int `json:"low"`
	High            int `json:"high"`
	FlaggedOutliers int `json:"flaggedOutliers"`
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
	// NetAdjustment and GrossAdjustment are fractions of the sale price.
	NetAdjustment   float64 `json:"netAdjustment"`
	GrossAdjustment float64 `json:"grossAdjustment"`
	// OutlierReason is set for a comp beyond 15% net or 25% gross.
	OutlierReason string `json:"outlierReason,omitempty"`
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
	// AreaPercentPerUnit is the area-wide rate the local one leans on.
	AreaPercentPerUnit float64 `json:"areaPercentPerUnit"`
	Unit               string  `json:"unit"`
	Used               bool    `json:"used"`
	Reason             string  `json:"reason"`
}

// MarketContext describes the market the subject will meet.
type MarketContext struct {
	ActiveListings     int      `json:"activeListings"`
	SaleToListRatio    *float64 `json:"saleToListRatio,omitempty"`
	SalesWithListPrice int      `json:"salesWithListPrice"`
}

// IsStepOutput marks a Report as a step's typed output.
func (*Report) IsStepOutput() {}
