package auth

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/httprate"

	"github.com/estateflow/estateflow/httpserver"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/tenant"
)

// RateLimit allows each token perMinute requests a minute (a sliding
// window); requests over it get RATE_LIMITED with Retry-After. It goes
// after Middleware: requests not yet authenticated (websocket upgrades
// that authenticate in connection_init) count against their address.
func RateLimit(perMinute int) func(http.Handler) http.Handler {
	key := func(r *http.Request) (string, error) {
		if v, ok := tenant.FromContext(r.Context()); ok && v.TokenID != 0 {
			return "token:" + strconv.Itoa(v.TokenID), nil
		}
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		return "addr:" + host, nil
	}
	return httprate.LimitBy(perMinute, time.Minute, key,
		// Only Retry-After, on refusals: the X-RateLimit-* headers on every
		// response would stay in memory for each open websocket.
		httprate.WithResponseHeaders(httprate.ResponseHeaders{RetryAfter: "Retry-After"}),
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			httpserver.WriteGraphQLError(w, http.StatusTooManyRequests, errcode.RateLimited,
				"too many requests for this token; retry after the time in the Retry-After header")
		}))
}
