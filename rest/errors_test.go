package rest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"

	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/internal/requestid"
)

// TestStatusOfEachCode pins the status of every code the REST API answers
// with, as it was before the statuses came from errcode.
func TestStatusOfEachCode(t *testing.T) {
	t.Parallel()
	for code, status := range map[errcode.Code]int{
		errcode.BadUserInput:    http.StatusBadRequest,
		errcode.NotFound:        http.StatusNotFound,
		errcode.Conflict:        http.StatusConflict,
		errcode.Unauthenticated: http.StatusUnauthorized,
		errcode.Forbidden:       http.StatusForbidden,
		errcode.RateLimited:     http.StatusTooManyRequests,
		errcode.Internal:        http.StatusInternalServerError,
		"SOMETHING_ELSE":        http.StatusInternalServerError,
	} {
		if got := newError(code, "", "x").status; got != status {
			t.Errorf("%s: status %d, want %d", code, got, status)
		}
	}
}

// TestInternalErrorMessage shows the request ID from the context, and
// nothing of the error.
func TestInternalErrorMessage(t *testing.T) {
	t.Parallel()
	h := &Handler{log: slog.New(slog.DiscardHandler)}
	err := errors.New(`pq: relation "runs" does not exist`)
	got := h.present(requestid.NewContext(context.Background(), "req-9"), err)
	if got.Code != errcode.Internal || got.status != http.StatusInternalServerError || got.Message != "internal error (request req-9)" {
		t.Fatalf("presented %+v", got)
	}
	if got := h.present(context.Background(), err); got.Message != "internal error" {
		t.Fatalf("without a request: %+v", got)
	}
}
