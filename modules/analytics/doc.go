// Package analytics values homes: a comparative market analysis (CMA) picks
// comparable sales near the subject, adjusts each one to the subject with
// rates derived from the local market's own sales, and weighs them into a
// value range that every figure of can be traced to its inputs.
//
// The same code path serves the CMA_ANALYSIS workflow step, the standalone
// cma query and the backtest command.
package analytics
