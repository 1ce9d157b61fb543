package errcode_test

import (
	"net/http"
	"testing"

	"github.com/estateflow/estateflow/internal/errcode"
)

func TestHTTPStatus(t *testing.T) {
	for _, tc := range []struct {
		code errcode.Code
		want int
	}{
		{errcode.BadUserInput, http.StatusBadRequest},
		{errcode.NotFound, http.StatusNotFound},
		{errcode.Conflict, http.StatusConflict},
		{errcode.Unauthenticated, http.StatusUnauthorized},
		{errcode.Forbidden, http.StatusForbidden},
		{errcode.RateLimited, http.StatusTooManyRequests},
		{errcode.Unavailable, http.StatusServiceUnavailable},
		{errcode.Internal, http.StatusInternalServerError},
		{errcode.Code("SOMETHING_NEW"), http.StatusInternalServerError},
	} {
		if got := tc.code.HTTPStatus(); got != tc.want {
			t.Errorf("%s.HTTPStatus() = %d, want %d", tc.code, got, tc.want)
		}
	}
}
