package cli

import (
	"errors"
	"fmt"
)

// Exit codes of the client commands.
const (
	ExitOK         = 0 // done; for run --watch, the run SUCCEEDED
	ExitError      = 1 // anything else
	ExitUsage      = 2 // bad flags or arguments
	ExitConnection = 3 // the server could not be reached, or refused the request
	ExitFailed     = 4 // the run FAILED
	ExitCanceled   = 5 // the run was CANCELED
)

// ExitCodeError carries the exit code a command ends with; main exits with
// it.
type ExitCodeError struct {
	Code int
	Err  error
}

func (e *ExitCodeError) Error() string { return e.Err.Error() }
func (e *ExitCodeError) Unwrap() error { return e.Err }

// ExitCode is the exit code of an error.
func (e *ExitCodeError) ExitCode() int { return e.Code }

// withCode wraps err with an exit code.
func withCode(code int, err error) error { return &ExitCodeError{Code: code, Err: err} }

// Usage is a usage error (exit code 2).
func Usage(format string, args ...any) error {
	return withCode(ExitUsage, fmt.Errorf(format, args...))
}

// CodeOf is the exit code err calls for: 0 for nil, the code it carries,
// or 1.
func CodeOf(err error) int {
	if err == nil {
		return ExitOK
	}
	var e *ExitCodeError
	if errors.As(err, &e) {
		return e.Code
	}
	return ExitError
}
