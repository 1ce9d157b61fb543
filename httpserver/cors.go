package httpserver

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/rs/cors"
)

// Origins is the browser-origin allow-list: the origins listed, plus, by
// default, pages served from this machine (localhost and 127.0.0.1 on any
// port), which is how frontends are developed. Same-origin requests need
// no entry.
type Origins struct {
	Allowed []string // "https://app.example.com"; "*" allows any origin
}

// ParseOrigins reads a comma-separated list such as
// ESTATEFLOW_CORS_ORIGINS.
func ParseOrigins(list string) Origins {
	var o Origins
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimRight(strings.TrimSpace(s), "/"); s != "" {
			o.Allowed = append(o.Allowed, s)
		}
	}
	return o
}

// Allows reports whether a page from origin may call the API.
func (o Origins) Allows(origin string) bool {
	if slices.Contains(o.Allowed, "*") || slices.Contains(o.Allowed, origin) {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return isLoopback(u.Hostname())
}

// WebsocketPatterns returns the allow-list as websocket.AcceptOptions
// OriginPatterns (host patterns).
func (o Origins) WebsocketPatterns() []string {
	patterns := []string{"localhost", "localhost:*", "127.0.0.1", "127.0.0.1:*", "[::1]", "[::1]:*"}
	for _, a := range o.Allowed {
		if a == "*" {
			return []string{"*"}
		}
		if u, err := url.Parse(a); err == nil && u.Host != "" {
			patterns = append(patterns, u.Host)
		}
	}
	return patterns
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// allowedRequestHeaders returns the request headers a page from an allowed
// origin may send. Besides the API's own, they are the ones GraphQL
// clients send by default, so that their preflights pass:
//   - Accept: safelisted by the Fetch standard only while its value has no
//     quote and fits in 128 bytes; Apollo Client's multipart subscription
//     Accept (multipart/mixed;boundary="graphql";…) does not, and urql's
//     list of response types grows with its exchanges;
//   - apollographql-client-name and apollographql-client-version: Apollo
//     Client's client awareness, sent once the app names itself (the name
//     and version options, or clientAwareness);
//   - x-apollo-operation-name and apollo-require-preflight: Apollo's CSRF
//     prevention headers, which Apollo's iOS and Kotlin clients and Apollo
//     Client's upload links set.
//
// urql sends only Content-Type and Accept.
func allowedRequestHeaders() []string {
	return []string{
		"Content-Type", "Accept", "Authorization", RequestIDHeader, "Idempotency-Key",
		"Apollographql-Client-Name", "Apollographql-Client-Version",
		"X-Apollo-Operation-Name", "Apollo-Require-Preflight",
	}
}

// CORS answers preflight requests and sets the CORS headers for the
// allowed origins; other origins get no CORS headers, so browsers refuse
// their pages the response.
func CORS(o Origins) func(http.Handler) http.Handler {
	// Idempotency-Key and Location serve the REST endpoints (package rest).
	c := cors.New(cors.Options{
		AllowOriginFunc:  o.Allows,
		AllowedMethods:   []string{http.MethodGet, http.MethodPost, http.MethodOptions},
		AllowedHeaders:   allowedRequestHeaders(),
		ExposedHeaders:   []string{RequestIDHeader, "Location"},
		AllowCredentials: false,
		MaxAge:           600,
	})
	return c.Handler
}
