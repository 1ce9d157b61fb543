package report

import (
	"github.com/estateflow/estateflow/internal/numfmt"

	"math"
	"strconv"

	"github.com/estateflow/estateflow/modules/analytics"
)

// Chart geometry, in SVG user units (the SVG scales to the page width).
const (
	chartWidth   = 720
	chartHeight  = 380
	chartLeft    = 84 // room for the price labels
	chartRight   = 20
	chartTop     = 16
	chartBottom  = 52 // room for the area labels and the axis title
	chartTickGap = 5  // about this many ticks per axis
)

// compsChart is the CMA's chart, price against living area, computed in Go
// so that the template only places what is here.
type compsChart struct {
	Width, Height                            int
	PlotLeft, PlotTop, PlotRight, PlotBottom float64
	Points                                   []chartPoint
	XTicks, YTicks                           []chartTick
	// Subject marks the estimated value at the subject's living area with
	// a bar over its range; when the subject's area is unknown, Band shows
	// the value and range across the whole plot instead.
	Subject *chartSubject
	Band    *chartBand
	// Unplotted counts comps without a living area.
	Unplotted int
}

type chartPoint struct {
	X, Y  float64
	Label string // the comp's rank, shown next to the point
	Title string // a tooltip: address, price and area
}

type chartTick struct {
	Pos   float64
	Label string
}

type chartSubject struct {
	X, Y, YLow, YHigh float64
	Title             string
}

type chartBand struct {
	Y, YLow, YHigh float64
}

// newCompsChart lays out the comps (sale price against square feet) and the
// subject's value and range. It returns nil when no comp has an area.
func newCompsChart(cma *analytics.Report, subjectSqft *int) *compsChart {
	ch := &compsChart{
		Width: chartWidth, Height: chartHeight,
		PlotLeft: chartLeft, PlotTop: chartTop, PlotRight: chartWidth - chartRight, PlotBottom: chartHeight - chartBottom,
	}
	xMin, xMax := math.Inf(1), math.Inf(-1)
	yMin, yMax := float64(cma.ValueLow), float64(cma.ValueHigh)
	plotted := 0
	for _, c := range cma.Comps {
		if c.Sqft == nil {
			ch.Unplotted++
			continue
		}
		plotted++
		xMin, xMax = math.Min(xMin, float64(*c.Sqft)), math.Max(xMax, float64(*c.Sqft))
		yMin, yMax = math.Min(yMin, float64(c.SalePrice)), math.Max(yMax, float64(c.SalePrice))
	}
	if plotted == 0 {
		return nil
	}
	if subjectSqft != nil {
		xMin, xMax = math.Min(xMin, float64(*subjectSqft)), math.Max(xMax, float64(*subjectSqft))
	}
	xLo, xHi, xStep := niceRange(xMin, xMax)
	yLo, yHi, yStep := niceRange(yMin, yMax)
	sx := func(v float64) float64 { return ch.PlotLeft + (v-xLo)/(xHi-xLo)*(ch.PlotRight-ch.PlotLeft) }
	sy := func(v float64) float64 { return ch.PlotBottom - (v-yLo)/(yHi-yLo)*(ch.PlotBottom-ch.PlotTop) }
	for v := xLo; v <= xHi+xStep/2; v += xStep {
		ch.XTicks = append(ch.XTicks, chartTick{Pos: sx(v), Label: numfmt.Thousands(int(math.Round(v)))})
	}
	for v := yLo; v <= yHi+yStep/2; v += yStep {
		ch.YTicks = append(ch.YTicks, chartTick{Pos: sy(v), Label: shortMoney(v)})
	}
	for i, c := range cma.Comps {
		if c.Sqft == nil {
			continue
		}
		title := numfmt.Dollars(c.SalePrice) + ", " + numfmt.Thousands(*c.Sqft) + " sq ft"
		if c.Address != "" {
			title = c.Address + ": " + title
		}
		ch.Points = append(ch.Points, chartPoint{
			X: sx(float64(*c.Sqft)), Y: sy(float64(c.SalePrice)), Label: strconv.Itoa(i + 1), Title: title,
		})
	}
	if subjectSqft != nil {
		ch.Subject = &chartSubject{
			X: sx(float64(*subjectSqft)), Y: sy(float64(cma.EstimatedValue)),
			YLow: sy(float64(cma.ValueLow)), YHigh: sy(float64(cma.ValueHigh)),
			Title: "Your home: " + numfmt.Dollars(cma.EstimatedValue) + " (" + numfmt.Dollars(cma.ValueLow) + "–" + numfmt.Dollars(cma.ValueHigh) + "), " +
				numfmt.Thousands(*subjectSqft) + " sq ft",
		}
	} else {
		ch.Band = &chartBand{Y: sy(float64(cma.EstimatedValue)), YLow: sy(float64(cma.ValueLow)), YHigh: sy(float64(cma.ValueHigh))}
	}
	return ch
}

// niceRange widens [lo, hi] to round tick steps (1, 2 or 5 times a power of
// ten) and returns the widened range and its step.
func niceRange(lo, hi float64) (float64, float64, float64) {
	if hi <= lo {
		pad := math.Max(math.Abs(lo)*0.1, 1)
		lo, hi = lo-pad, hi+pad
	}
	raw := (hi - lo) / chartTickGap
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	return math.Floor(lo/step) * step, math.Ceil(hi/step) * step, step
}

// thousands formats a whole number with thousands separators.

// shortMoney formats an axis price: $450k, $1.25M.
func shortMoney(v float64) string {
	switch {
	case math.Abs(v) >= 1e6:
		return "$" + strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case math.Abs(v) >= 1e3:
		return "$" + strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return "$" + strconv.FormatFloat(v, 'f', -1, 64)
}
