//go:build !unix

package fdlimit

import "errors"

// ErrUnsupported is Raise's error where the system has no RLIMIT_NOFILE.
var ErrUnsupported = errors.New("fdlimit: this system has no RLIMIT_NOFILE")

// Raise does nothing here: the system has no RLIMIT_NOFILE.
func Raise() (before, after uint64, err error) { return 0, 0, ErrUnsupported }
