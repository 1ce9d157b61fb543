package httpserver

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"

	"github.com/estateflow/estateflow/internal/requestid"
)

// RequestIDHeader carries the request ID in and out: a caller (or a load
// balancer) may set it, and every response echoes it.
const RequestIDHeader = "X-Request-ID"

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// RequestID gives every request an ID, taken from X-Request-ID when the
// caller sent a sane one and generated otherwise. The ID travels in the
// request's context (package requestid), from which the logger adds it to
// every record logged with that context.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID.MatchString(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(requestid.NewContext(r.Context(), id)))
	})
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
