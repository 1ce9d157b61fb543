package analytics

import (
	"context"
	"errors"
	"math"
	"sort"
	"time"
)

// BacktestResult scores a CMA against the prices homes actually sold for.
type BacktestResult struct {
	Count    int     `json:"count"`    // sales valued
	Total    int     `json:"total"`    // sales in the file
	Coverage float64 `json:"coverage"` // count ÷ total
	MdAPE    float64 `json:"mdape"`    // median absolute percentage error, as a fraction
	PPE5     float64 `json:"ppe5"`     // share of values within ±5%
	PPE10    float64 `json:"ppe10"`
	PPE20    float64 `json:"ppe20"`
	Seconds  float64 `json:"seconds"`
}

// Backtest values every sale with the CMA, using only the other sales as
// comps and, when sale dates exist, only the sales before it.
func Backtest(ctx context.Context, src Source, sales []Home, opts Options, progress func(done, total int)) (BacktestResult, error) {
	start := time.Now()
	var errs []float64
	for i, s := range sales {
		if err := ctx.Err(); err != nil {
			return BacktestResult{}, err
		}
		o := opts
		if s.SaleDate != nil {
			asOf := *s.SaleDate
			o.AsOf = &asOf
		}
		subject := s
		report, err := Value(ctx, src, subject, o, nil)
		var tooFew *TooFewCompsError
		switch {
		case errors.As(err, &tooFew), errors.Is(err, ErrNoLivingArea):
		case err != nil:
			return BacktestResult{}, err
		default:
			price := float64(*s.SalePrice)
			errs = append(errs, math.Abs(float64(report.EstimatedValue)-price)/price)
		}
		if progress != nil {
			progress(i+1, len(sales))
		}
	}
	res := BacktestResult{Count: len(errs), Total: len(sales), Seconds: round2(time.Since(start).Seconds())}
	if len(sales) > 0 {
		res.Coverage = round4(float64(len(errs)) / float64(len(sales)))
	}
	if len(errs) == 0 {
		return res, nil
	}
	sort.Float64s(errs)
	res.MdAPE = round4(median(errs))
	within := func(limit float64) float64 {
		n := sort.SearchFloat64s(errs, limit+1e-12)
		return round4(float64(n) / float64(len(errs)))
	}
	res.PPE5, res.PPE10, res.PPE20 = within(0.05), within(0.10), within(0.20)
	return res, nil
}
