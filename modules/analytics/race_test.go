//go:build race

package analytics

// RaceDetector is true in a -race build (exported for the external tests). The real-data backtest and the
// synthetic-market test are pure computation, which the race detector slows
// about twentyfold (nearly ten minutes a run); they have no goroutines of
// their own to check, so a -race run skips them and .ci/run runs them in a
// plain build.
const RaceDetector = true
