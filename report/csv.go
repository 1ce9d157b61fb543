package report

import (
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/estateflow/estateflow/modules/analytics"
)

// ErrNoCMA is returned by WriteCompsCSV for a run without a succeeded CMA
// step: there is no comps table to write.
var ErrNoCMA = errors.New("the run has no CMA output")

// StepsCSVHeader is the header row of the steps table.
var StepsCSVHeader = []string{
	"position", "key", "name", "kind", "status", "attempts", "progress",
	"started_at", "finished_at", "duration_seconds", "depends_on", "summary", "error",
}

// WriteStepsCSV writes one row per step, in position order.
func WriteStepsCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(StepsCSVHeader); err != nil {
		return err
	}
	for _, s := range r.Steps {
		errText := ""
		if s.Error != nil {
			errText = *s.Error
		}
		row := []string{
			strconv.Itoa(s.Position), text(s.Key), text(s.Name), s.Kind, s.Status, strconv.Itoa(s.Attempts),
			strconv.FormatFloat(s.Progress, 'f', -1, 64), timestamp(s.StartedAt), timestamp(s.FinishedAt),
			duration(s.DurationSeconds), text(strings.Join(s.DependsOn, " ")), text(s.Summary), text(errText),
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// CompsFeatures lists the adjusted features of a CMA in column order: the
// market rates' order first, then any other feature as the comps name it.
func CompsFeatures(cma *analytics.Report) []string {
	seen := map[string]bool{}
	var out []string
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	used := map[string]bool{}
	for _, c := range cma.Comps {
		for _, a := range c.Adjustments {
			used[a.Feature] = true
		}
	}
	for _, m := range cma.MarketRates {
		if used[m.Feature] {
			add(m.Feature)
		}
	}
	for _, c := range cma.Comps {
		for _, a := range c.Adjustments {
			add(a.Feature)
		}
	}
	return out
}

// CompsCSVHeader is the comps table's header for the given features: the
// fixed columns, then one adjustment column (in dollars) per feature, then
// the totals.
func CompsCSVHeader(features []string) []string {
	h := []string{"rank", "property_id", "address", "zip", "distance_miles", "sale_date", "sale_price", "sqft", "beds", "baths"}
	for _, f := range features {
		h = append(h, "adjustment_"+f)
	}
	return append(h, "net_adjustment_pct", "gross_adjustment_pct", "adjusted_price", "weight", "similarity", "outlier_reason")
}

// WriteCompsCSV writes the CMA's comps table, a row per comp in the order
// the CMA ranked them, with each feature's adjustment in its own column.
func WriteCompsCSV(w io.Writer, r *Report) error {
	cma, ok := r.CMA()
	if !ok {
		return ErrNoCMA
	}
	features := CompsFeatures(cma)
	cw := csv.NewWriter(w)
	if err := cw.Write(CompsCSVHeader(features)); err != nil {
		return err
	}
	for i, c := range cma.Comps {
		saleDate := ""
		if c.SaleDate != nil {
			saleDate = c.SaleDate.UTC().Format("2006-01-02")
		}
		row := []string{
			strconv.Itoa(i + 1), strconv.Itoa(c.PropertyID), text(c.Address), text(c.Zip),
			strconv.FormatFloat(c.DistanceMiles, 'f', 2, 64), saleDate, strconv.Itoa(c.SalePrice),
			intOrEmpty(c.Sqft), intOrEmpty(c.Beds), floatOrEmpty(c.Baths),
		}
		amounts := map[string]int{}
		for _, a := range c.Adjustments {
			amounts[a.Feature] += a.Amount
		}
		for _, f := range features {
			row = append(row, strconv.Itoa(amounts[f]))
		}
		row = append(row,
			strconv.FormatFloat(c.NetAdjustment*100, 'f', 2, 64), strconv.FormatFloat(c.GrossAdjustment*100, 'f', 2, 64),
			strconv.Itoa(c.AdjustedPrice), strconv.FormatFloat(c.Weight, 'f', 4, 64),
			strconv.FormatFloat(c.Similarity, 'f', 4, 64), text(c.OutlierReason))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// text defuses a free-text cell that a spreadsheet would run as a formula
// (one starting with =, +, -, @, a tab or a carriage return) by prefixing
// an apostrophe, as OWASP advises for CSV exports.
func text(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
