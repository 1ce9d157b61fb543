// Package analytics values homes: a comparative market analysis (CMA) picks
// comparable sales near the subject, adjusts each one to the subject with
// rates derived from the local market's own sales, and takes the weighted
// median of up to 50 of them. The rates come from a regression of log price
// over the nearby sales, weighted by how similar each is to the subject and
// pulled toward the area-wide rates; time enters only as an area-wide
// trend. The stated range is an 80% band calibrated from backtests of the
// organization's earlier sales (Calibrate, stored by `cma calibrate`), and
// each confidence grade states the error it was measured to carry.
//
// The same code path serves the CMA_ANALYSIS workflow step, the standalone
// cma query, the backtest and the calibrate commands.
package analytics
