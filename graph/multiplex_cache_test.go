package graph

import (
	"strconv"
	"testing"
	"time"

	"github.com/estateflow/estateflow/ent"
)

func TestFrameCache(t *testing.T) {
	// One state per number, as the engine hands every subscriber the same.
	states := map[int]*ent.Run{}
	key := func(n int) frameKey {
		if states[n] == nil {
			states[n] = &ent.Run{ID: n}
		}
		return frameKey{run: states[n], op: operationKey{query: strconv.Itoa(n)}}
	}
	// render takes k's frame as a subscriber does, rendering it if it is
	// the first, and reports whether it had to.
	render := func(c *frameCache, k frameKey, bytes int) bool {
		f, first := c.entry(k)
		if first {
			c.done(f, make([]byte, bytes))
		}
		<-f.done
		return first
	}
	tests := []struct {
		name     string
		limit    int
		maxBytes int
		// renders are the frames taken in order (by key number) and their
		// sizes; rendered says which of them had to be rendered.
		renders  []int
		sizes    []int
		rendered []bool
	}{
		{"shared while kept", 10, 1 << 20, []int{1, 1, 2, 1, 2}, []int{10, 10, 10, 10, 10}, []bool{true, false, true, false, false}},
		// Two generations of two frames: the fifth frame drops the first two.
		{"bounded in frames", 2, 1 << 20, []int{1, 2, 3, 4, 5, 3, 1}, []int{1, 1, 1, 1, 1, 1, 1}, []bool{true, true, true, true, true, false, true}},
		// 60 bytes each against 100 a generation: two frames fill one.
		{"bounded in bytes", 100, 100, []int{1, 2, 3, 4, 5, 3, 1}, []int{60, 60, 60, 60, 60, 60, 60}, []bool{true, true, true, true, true, false, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newFrameCache(tc.limit, tc.maxBytes, time.Hour)
			for i, n := range tc.renders {
				if got := render(c, key(n), tc.sizes[i]); got != tc.rendered[i] {
					t.Fatalf("take %d (frame %d): rendered %v, want %v", i, n, got, tc.rendered[i])
				}
			}
		})
	}
}

// TestFrameCacheForgetsWhenIdle: a quiet cache holds no frame two windows
// after its last one, so a server does not keep the last burst's rendered
// states (and the states) for good.
func TestFrameCacheForgetsWhenIdle(t *testing.T) {
	c := newFrameCache(4096, 16<<20, 50*time.Millisecond)
	for n := range 5 {
		f, _ := c.entry(frameKey{run: &ent.Run{ID: n}})
		c.done(f, make([]byte, 1000))
	}
	if c.size() != 5 {
		t.Fatalf("%d frames kept, want 5", c.size())
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.size() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d frames still kept 5s after the last", c.size())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// It still works afterwards, and forgets again.
	f, first := c.entry(frameKey{run: &ent.Run{ID: 9}})
	if !first {
		t.Fatal("a forgotten frame was found")
	}
	c.done(f, nil)
	for c.size() > 0 {
		if time.Now().After(deadline.Add(5 * time.Second)) {
			t.Fatal("the cache did not forget a second time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
