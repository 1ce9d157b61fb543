package loadtest

import (
	"math"
	"testing"
	"time"
)

func TestMemoryStats(t *testing.T) {
	sample := func(at, rssMB, heapMB float64) MemorySample {
		return MemorySample{AtSeconds: at, RSSBytes: rssMB * (1 << 20), HeapInuseBytes: heapMB * (1 << 20)}
	}
	tests := []struct {
		name                   string
		samples                []MemorySample
		warmup                 time.Duration
		atWarmup, atEnd, maxMB float64
		growth, maxGrowth      float64
	}{
		{"flat after a warm-up climb", []MemorySample{sample(5, 50, 20), sample(10, 100, 40), sample(15, 102, 41), sample(20, 100, 40)},
			10 * time.Second, 100, 100, 102, 0, 2},
		{"growing", []MemorySample{sample(10, 100, 40), sample(20, 110, 44), sample(30, 125, 50)},
			5 * time.Second, 100, 125, 125, 25, 25},
		{"too few samples after the warm-up", []MemorySample{sample(5, 50, 20), sample(10, 100, 40)},
			10 * time.Second, 0, 0, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := memoryStats(tc.samples, tc.warmup)
			mb := func(b float64) float64 { return b / (1 << 20) }
			if mb(m.RSSAtWarmupBytes) != tc.atWarmup || mb(m.RSSAtEndBytes) != tc.atEnd || mb(m.RSSMaxBytes) != tc.maxMB ||
				!near(m.RSSGrowthPercent, tc.growth) || !near(m.RSSMaxGrowthPercent, tc.maxGrowth) || len(m.Samples) != len(tc.samples) {
				t.Errorf("got %+v", m)
			}
		})
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
