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
	// BandCoverage is the share of true prices inside the stated 80% band,
	// each drawn from a calibration of the other (when dated: earlier)
	// sales only; Calibrated the share of values whose band was calibrated.
	BandCoverage float64 `json:"bandCoverage"`
	Calibrated   float64 `json:"calibrated"`
	// Grades gives, per grade, the error and the band's coverage.
	Grades []GradeResult `json:"grades"`
	// PriceFifths gives the bias (median of value ÷ price − 1) per fifth
	// of true prices, lowest first.
	PriceFifths []FifthResult `json:"priceFifths"`
	Seconds     float64       `json:"seconds"`
	// Samples are the backtested sales a calibration is made from.
	Samples []CalibrationSample `json:"-"`
}

// GradeResult is one grade's backtest figures.
type GradeResult struct {
	Grade        string  `json:"grade"`
	Count        int     `json:"count"`
	MdAPE        float64 `json:"mdape"`
	PPE10        float64 `json:"ppe10"`
	BandCoverage float64 `json:"bandCoverage"`
}

// FifthResult is one price fifth's backtest figures.
type FifthResult struct {
	MaxPrice int     `json:"maxPrice"`
	Count    int     `json:"count"`
	Bias     float64 `json:"bias"`
	MdAPE    float64 `json:"mdape"`
}

// Backtest values every sale with the CMA, using only the other sales as
// comps and, when sale dates exist, only the sales before it. The bands are
// then drawn as a report would draw them, each from a calibration of the
// other sales' errors (for dated sales, those of earlier months only), so
// that their coverage is measured out of sample.
func Backtest(ctx context.Context, src Source, sales []Home, opts Options, progress func(done, total int)) (BacktestResult, error) {
	start := time.Now()
	var samples []CalibrationSample
	for i, s := range sales {
		if err := ctx.Err(); err != nil {
			return BacktestResult{}, err
		}
		o := opts
		o.ignoreStoredCalibration = true
		if s.SaleDate != nil {
			asOf := *s.SaleDate
			o.AsOf = &asOf
		}
		report, err := Value(ctx, src, s, o, nil)
		var tooFew *TooFewCompsError
		switch {
		case errors.As(err, &tooFew), errors.Is(err, ErrNoLivingArea):
		case err != nil:
			return BacktestResult{}, err
		default:
			samples = append(samples, CalibrationSample{
				Estimate: float64(report.EstimatedValue), Price: float64(*s.SalePrice),
				Spread: report.CompSpread, SaleDate: s.SaleDate,
			})
		}
		if progress != nil {
			progress(i+1, len(sales))
		}
	}
	res := scoreBacktest(samples, len(sales), start)
	res.Samples = samples
	return res, nil
}

type scored struct {
	ape, signed float64
	price       float64
	grade       string
	inBand      bool
	calibrated  bool
}

func scoreBacktest(samples []CalibrationSample, total int, start time.Time) BacktestResult {
	res := BacktestResult{Count: len(samples), Total: total, Grades: []GradeResult{}, PriceFifths: []FifthResult{}}
	if total > 0 {
		res.Coverage = round4(float64(len(samples)) / float64(total))
	}
	rows := make([]scored, len(samples))
	for i, s := range samples {
		cal, why := Calibrate(samplesBefore(samples, s.SaleDate, i), time.Time{})
		b := BandFor(s.Estimate, s.Spread, cal, why)
		rows[i] = scored{
			ape: math.Abs(s.Estimate/s.Price - 1), signed: s.Estimate/s.Price - 1, price: s.Price,
			grade: b.Grade, inBand: s.Price >= math.Min(b.Low, s.Estimate) && s.Price <= math.Max(b.High, s.Estimate), calibrated: b.Calibrated,
		}
	}
	res.MdAPE, res.PPE5, res.PPE10, res.PPE20, res.BandCoverage = summarize(rows)
	var calibrated int
	for _, r := range rows {
		if r.calibrated {
			calibrated++
		}
	}
	if len(rows) > 0 {
		res.Calibrated = round4(float64(calibrated) / float64(len(rows)))
	}
	for _, g := range grades {
		var in []scored
		for _, r := range rows {
			if r.grade == g {
				in = append(in, r)
			}
		}
		gr := GradeResult{Grade: g, Count: len(in)}
		gr.MdAPE, _, gr.PPE10, _, gr.BandCoverage = summarize(in)
		res.Grades = append(res.Grades, gr)
	}
	sort.Slice(rows, func(a, b int) bool { return rows[a].price < rows[b].price })
	for f := range 5 {
		part := rows[f*len(rows)/5 : (f+1)*len(rows)/5]
		if len(part) == 0 {
			continue
		}
		signed := make([]float64, len(part))
		for i, r := range part {
			signed[i] = r.signed
		}
		fr := FifthResult{MaxPrice: int(part[len(part)-1].price), Count: len(part), Bias: round4(median(signed))}
		fr.MdAPE, _, _, _, _ = summarize(part)
		res.PriceFifths = append(res.PriceFifths, fr)
	}
	res.Seconds = round2(time.Since(start).Seconds())
	return res
}

// summarize returns MdAPE, PPE5, PPE10, PPE20 and band coverage of rows.
func summarize(rows []scored) (mdape, ppe5, ppe10, ppe20, band float64) {
	if len(rows) == 0 {
		return
	}
	errs := make([]float64, len(rows))
	var in int
	for i, r := range rows {
		errs[i] = r.ape
		if r.inBand {
			in++
		}
	}
	sort.Float64s(errs)
	within := func(limit float64) float64 {
		n := sort.SearchFloat64s(errs, limit+1e-12)
		return round4(float64(n) / float64(len(errs)))
	}
	return round4(median(errs)), within(0.05), within(0.10), within(0.20), round4(float64(in) / float64(len(rows)))
}
