package loadtest

import (
	"testing"
	"time"
)

func TestBucketsRoundTrip(t *testing.T) {
	for _, us := range []uint64{0, 1, 63, 64, 65, 127, 128, 1000, 123456, 1 << 40} {
		b := bucketOf(us)
		lo := lowerBound(b)
		if lo > us {
			t.Errorf("bucket %d of %d starts at %d, above the value", b, us, lo)
		}
		if next := lowerBound(b + 1); next <= us {
			t.Errorf("bucket %d of %d ends at %d, not above the value", b, us, next)
		}
		if us >= subBuckets && float64(us-lo)/float64(us) > 1.0/subBuckets {
			t.Errorf("bucket of %d starts at %d: more than 1/%d below", us, lo, subBuckets)
		}
	}
}

func TestQuantiles(t *testing.T) {
	tests := []struct {
		name           string
		values         []time.Duration
		p50, p99, maxv time.Duration
	}{
		{"empty", nil, 0, 0, 0},
		{"one", []time.Duration{5 * time.Millisecond}, 5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond},
		{"1..100 ms", func() []time.Duration {
			var v []time.Duration
			for i := 1; i <= 100; i++ {
				v = append(v, time.Duration(i)*time.Millisecond)
			}
			return v
		}(), 50 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond},
		{"negative counts as zero", []time.Duration{-time.Second}, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var a, b histogram
			for i, v := range tc.values {
				if i%2 == 0 {
					a.add(v)
				} else {
					b.add(v)
				}
			}
			a.merge(&b)
			within := func(got, want time.Duration) bool {
				return got <= want && float64(want-got) <= float64(want)/subBuckets
			}
			if got := a.quantile(0.5); !within(got, tc.p50) {
				t.Errorf("p50 = %v, want about %v", got, tc.p50)
			}
			if got := a.quantile(0.99); !within(got, tc.p99) {
				t.Errorf("p99 = %v, want about %v", got, tc.p99)
			}
			if a.max != tc.maxv || a.n != uint64(len(tc.values)) {
				t.Errorf("max, n = %v, %d; want %v, %d", a.max, a.n, tc.maxv, len(tc.values))
			}
		})
	}
}
