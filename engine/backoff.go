package engine

import (
	"math"
	"math/rand/v2"
	"time"
)

// backoff returns the wait before the next attempt after the given number of
// failed attempts: exponential from base, capped at max, with full jitter in
// its upper half so that steps failing together do not retry together.
func backoff(failedAttempts int, base, max time.Duration) time.Duration {
	if failedAttempts < 1 {
		failedAttempts = 1
	}
	d := float64(base) * math.Pow(2, float64(failedAttempts-1))
	if d > float64(max) || math.IsInf(d, 1) {
		d = float64(max)
	}
	half := d / 2
	return time.Duration(half + rand.Float64()*half)
}
