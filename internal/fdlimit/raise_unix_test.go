//go:build unix

package fdlimit

import (
	"syscall"
	"testing"
)

// TestRaise lowers the soft limit below the hard one, then checks that
// Raise brings it back up to the hard limit and reports both values.
func TestRaise(t *testing.T) {
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig) })
	if orig.Max < 256 {
		t.Skipf("hard limit %d too low to lower the soft one", orig.Max)
	}
	for _, tc := range []struct {
		name string
		soft uint64
	}{
		{"below the hard limit", 128},
		{"already at the hard limit", uint64(orig.Max)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lowered := orig
			lowered.Cur = tc.soft
			if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lowered); err != nil {
				t.Skipf("cannot set the soft limit to %d: %v", tc.soft, err)
			}
			before, after, err := Raise()
			if err != nil {
				t.Fatal(err)
			}
			if before != tc.soft || after != uint64(orig.Max) {
				t.Errorf("Raise() = %d, %d; want %d, %d", before, after, tc.soft, orig.Max)
			}
			var now syscall.Rlimit
			if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now); err != nil {
				t.Fatal(err)
			}
			if now.Cur != orig.Max {
				t.Errorf("soft limit is %d after Raise, want %d", now.Cur, orig.Max)
			}
		})
	}
}
