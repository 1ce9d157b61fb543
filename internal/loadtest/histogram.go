package loadtest

import (
	"math/bits"
	"time"
)

// subBuckets is the number of buckets per power of two: latencies are
// kept to within 1/64 (1.6%) of their value, in microseconds.
const (
	subBits    = 6
	subBuckets = 1 << subBits
	maxBuckets = (64 - subBits + 1) * subBuckets
)

// histogram counts durations in log-linear buckets. It is not safe for
// concurrent use: each goroutine keeps its own and they are merged.
type histogram struct {
	counts [maxBuckets]uint64
	n      uint64
	max    time.Duration
}

func bucketOf(us uint64) int {
	if us < subBuckets {
		return int(us)
	}
	shift := bits.Len64(us) - subBits - 1
	return (shift+1)*subBuckets + int(us>>uint(shift)) - subBuckets
}

// lowerBound is the smallest value, in microseconds, of bucket i.
func lowerBound(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	shift := i/subBuckets - 1
	return uint64(i%subBuckets+subBuckets) << uint(shift)
}

// add records d; negative durations (clock skew) count as zero.
func (h *histogram) add(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d/time.Microsecond))]++
	h.n++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the q-quantile (0 < q <= 1): the lower bound of the
// bucket holding the ceil(q·n)-th smallest value, never above the max.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.999999)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(time.Duration(lowerBound(i))*time.Microsecond, h.max)
		}
	}
	return h.max
}

// Percentiles summarises a histogram, in milliseconds.
type Percentiles struct {
	Count uint64  `json:"count"`
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func (h *histogram) percentiles() Percentiles {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return Percentiles{Count: h.n, P50: ms(h.quantile(0.50)), P95: ms(h.quantile(0.95)), P99: ms(h.quantile(0.99)), Max: ms(h.max)}
}
