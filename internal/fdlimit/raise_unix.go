//go:build unix

package fdlimit

import (
	"fmt"
	"syscall"
)

// Raise sets the soft limit of open files to the hard limit and returns
// the soft limit before and after. When the soft limit already equals
// the hard one it changes nothing. If the system refuses the hard value
// (macOS refuses more than OPEN_MAX when the hard limit is unlimited), the
// limit stays as it was and the error says why.
func Raise() (before, after uint64, err error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, fmt.Errorf("fdlimit: reading RLIMIT_NOFILE: %w", err)
	}
	before = uint64(lim.Cur)
	if lim.Cur >= lim.Max {
		return before, before, nil
	}
	want := lim
	want.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		return before, before, fmt.Errorf("fdlimit: raising RLIMIT_NOFILE from %d to %d: %w", lim.Cur, lim.Max, err)
	}
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return before, uint64(want.Cur), nil
	}
	return before, uint64(lim.Cur), nil
}
