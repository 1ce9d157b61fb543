package analytics

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// The stated range is an 80% band: in backtests of earlier sales, 80% of
// true prices fell inside bands drawn this way. A band is the value times
// exp(z × spread), with spread how much this subject's comps disagree and
// z the 10th and 90th percentiles of the backtest's log errors divided by
// their own spreads, taken per grade. The comps' own spread is not the
// band: it understates the error.

// Grades, from the tightest comps to the loosest.
var grades = []string{"HIGH", "MEDIUM", "LOW"}

const (
	// minCalibrationSales is the fewest backtested sales a calibration
	// needs; fewer leave the range uncalibrated.
	minCalibrationSales = 60
	// Without a calibration the grades follow fixed spreads, and the band
	// is ±uncalibratedZ spreads: a guess, stated as one.
	uncalibratedHigh = 0.06
	uncalibratedMed  = 0.12
	uncalibratedZ    = 2.0
)

// CalibrationSample is one backtested sale: the CMA's value, the price it
// sold for, and its comps' spread.
type CalibrationSample struct {
	Estimate float64    `json:"estimate"`
	Price    float64    `json:"price"`
	Spread   float64    `json:"spread"`
	SaleDate *time.Time `json:"saleDate,omitempty"`
}

// logError is log(price ÷ estimate): positive when the CMA was low.
func (s CalibrationSample) logError() float64 { return math.Log(s.Price / s.Estimate) }

// Calibration is what backtests measured, per grade.
type Calibration struct {
	CalibratedAt time.Time          `json:"calibratedAt"`
	Sales        int                `json:"sales"`
	Grades       []GradeCalibration `json:"grades"`
}

// GradeCalibration is one grade's measured error.
type GradeCalibration struct {
	Grade string `json:"grade"`
	// MaxSpread is the largest comp spread that earns this grade (0 for
	// LOW: any).
	MaxSpread float64 `json:"maxSpread"`
	Count     int     `json:"count"`
	// LowZ and HighZ are the 10th and 90th percentiles of log error ÷
	// spread: the band's edges in spreads.
	LowZ  float64 `json:"lowZ"`
	HighZ float64 `json:"highZ"`
	// Within80 is the absolute error (a fraction) that 80% of this grade's
	// values stayed within.
	Within80 float64 `json:"within80"`
	MdAPE    float64 `json:"mdape"`
}

// Calibrate measures the error of backtested values. It returns nil when
// there are too few samples, with the reason.
func Calibrate(samples []CalibrationSample, at time.Time) (*Calibration, string) {
	if len(samples) < minCalibrationSales {
		return nil, fmt.Sprintf("only %d backtested sales, at least %d are needed", len(samples), minCalibrationSales)
	}
	spreads := make([]float64, len(samples))
	for i, s := range samples {
		spreads[i] = s.Spread
	}
	sort.Float64s(spreads)
	// Grades split the sales in thirds by spread, so that each is measured
	// on enough sales.
	cuts := []float64{quantile(spreads, 1.0/3), quantile(spreads, 2.0/3), 0}
	c := &Calibration{CalibratedAt: at, Sales: len(samples)}
	for g, name := range grades {
		var z, abs []float64
		for _, s := range samples {
			if gradeOf(s.Spread, cuts) == g {
				z = append(z, s.logError()/s.Spread)
				abs = append(abs, math.Abs(s.Price/s.Estimate-1))
			}
		}
		gc := GradeCalibration{Grade: name, MaxSpread: round4(cuts[g]), Count: len(z)}
		if len(z) > 0 {
			sort.Float64s(z)
			sort.Float64s(abs)
			gc.LowZ, gc.HighZ = round4(quantile(z, 0.1)), round4(quantile(z, 0.9))
			gc.Within80, gc.MdAPE = round4(quantile(abs, 0.8)), round4(quantile(abs, 0.5))
		}
		c.Grades = append(c.Grades, gc)
	}
	return c, ""
}

// gradeOf returns the index of the grade a spread earns under cuts (the
// last cut, 0, means "any").
func gradeOf(spread float64, cuts []float64) int {
	for g, cut := range cuts {
		if cut == 0 || spread <= cut {
			return g
		}
	}
	return len(cuts) - 1
}

// quantile is the q-quantile of sorted values, interpolating linearly
// between order statistics (type 7, as spreadsheets compute it).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
}

// Band is a calibrated (or not) 80% range and its grade.
type Band struct {
	Low, High  float64
	Grade      string
	Calibrated bool
	Note       string
}

// BandFor draws the 80% band around a value est whose comps spread by
// spread, from cal (nil: uncalibrated, for the reason given).
func BandFor(est, spread float64, cal *Calibration, uncalibratedWhy string) Band {
	spread = math.Max(spread, minSpread)
	if cal == nil || len(cal.Grades) != len(grades) {
		g := gradeOf(spread, []float64{uncalibratedHigh, uncalibratedMed, 0})
		return Band{
			Low: est * math.Exp(-uncalibratedZ*spread), High: est * math.Exp(uncalibratedZ*spread),
			Grade: grades[g],
			Note: fmt.Sprintf("uncalibrated: %s; the range is ±%.0f comp spreads, a guess, and the grade states no measured error",
				uncalibratedWhy, uncalibratedZ),
		}
	}
	cuts := make([]float64, len(cal.Grades))
	for i, gc := range cal.Grades {
		cuts[i] = gc.MaxSpread
	}
	cuts[len(cuts)-1] = 0
	gc := cal.Grades[gradeOf(spread, cuts)]
	return Band{
		Low: est * math.Exp(gc.LowZ*spread), High: est * math.Exp(gc.HighZ*spread),
		Grade: gc.Grade, Calibrated: true,
		Note: fmt.Sprintf("in backtests of %d earlier sales (calibrated %s), 80%% of values graded %s were within ±%.0f%%, and 80%% of true prices fell inside a range drawn this way",
			cal.Sales, cal.CalibratedAt.Format("2006-01-02"), gc.Grade, 100*gc.Within80),
	}
}

// applyRange sets the report's range and grade.
func applyRange(r *Report, est, spread float64, n int, radius float64, cal *Calibration) {
	why := "no calibration is stored for this organization (run `estateflow cma calibrate`)"
	if cal != nil && cal.Sales < minCalibrationSales {
		why = fmt.Sprintf("the calibration has only %d backtested sales, at least %d are needed", cal.Sales, minCalibrationSales)
		cal = nil
	}
	b := BandFor(est, spread, cal, why)
	r.ValueLow, r.ValueHigh = roundTo(math.Min(b.Low, est), 1000), roundTo(math.Max(b.High, est), 1000)
	r.Confidence = b.Grade
	r.RangeCalibrated = b.Calibrated
	r.RangeNote = b.Note
	if cal != nil {
		at := cal.CalibratedAt
		r.CalibratedAt = &at
	}
	r.ConfidenceReason = fmt.Sprintf("%d comps within %.1f miles whose adjusted prices spread ±%.0f%%; %s", n, radius, 100*spread, b.Note)
}

// samplesBefore returns the samples that sold before t (all others, when
// t or their dates are unknown), leaving out the one at index skip.
func samplesBefore(samples []CalibrationSample, t *time.Time, skip int) []CalibrationSample {
	out := make([]CalibrationSample, 0, len(samples))
	for i, s := range samples {
		if i == skip {
			continue
		}
		if t != nil && s.SaleDate != nil && !s.SaleDate.Before(monthStart(*t)) {
			continue
		}
		out = append(out, s)
	}
	return slices.Clip(out)
}

func monthStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location())
}
