package engine

import (
	"fmt"
	"time"

	"github.com/estateflow/estateflow/internal/errcode"
)

// Error is a refusal the caller caused: bad input, an unknown record, or an
// operation that does not fit the run's state. Code is what clients see as
// extensions.code; Field names the input at fault, when there is one.
type Error struct {
	Code    errcode.Code
	Field   string
	Message string
	// RetryAfter, on a RATE_LIMITED refusal, is when to try again.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Message }

func inputError(field, format string, args ...any) *Error {
	return &Error{Code: errcode.BadUserInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

func notFoundError(field, format string, args ...any) *Error {
	return &Error{Code: errcode.NotFound, Field: field, Message: fmt.Sprintf(format, args...)}
}

func conflictError(field, format string, args ...any) *Error {
	return &Error{Code: errcode.Conflict, Field: field, Message: fmt.Sprintf(format, args...)}
}
