// Package errcode is EstateFlow's one vocabulary of error codes: the value
// of GraphQL's extensions.code and of the REST API's error.code. Clients
// branch on these codes, never on messages, so each is defined here once and
// every layer (engine, auth, httpserver, graph, rest) uses these constants.
//
// The package is a leaf: it imports nothing of the project's, so that the
// generic engine can use it without learning anything about the API.
package errcode

import "net/http"

// Code is an error code as clients see it.
type Code string

// Refusals the caller can fix.
const (
	// BadUserInput: an argument or field is invalid; extensions.field names it.
	BadUserInput Code = "BAD_USER_INPUT"
	// NotFound: the record does not exist, or belongs to another organization.
	NotFound Code = "NOT_FOUND"
	// Conflict: the operation does not fit the record's state (cancel a
	// finished run, reuse an idempotency key with other input).
	Conflict Code = "CONFLICT"
	// Unauthenticated: no token, or a token that is unknown, revoked or expired.
	Unauthenticated Code = "UNAUTHENTICATED"
	// Forbidden: the viewer's role does not allow the operation.
	Forbidden Code = "FORBIDDEN"
	// UnsupportedTransport: the request's method, content type or operation
	// type does not fit how it was sent: a mutation over GET (use POST), a
	// subscription over plain HTTP (use a websocket or SSE), a body that is
	// not application/json.
	UnsupportedTransport Code = "UNSUPPORTED_TRANSPORT"
)

// Limits: the request was well-formed but asked for too much.
const (
	// RateLimited: too many requests for the token; Retry-After says when to retry.
	RateLimited Code = "RATE_LIMITED"
	// DepthLimitExceeded: the operation nests fields deeper than allowed.
	DepthLimitExceeded Code = "DEPTH_LIMIT_EXCEEDED"
	// ComplexityLimitExceeded: the operation's cost is over the limit.
	ComplexityLimitExceeded Code = "COMPLEXITY_LIMIT_EXCEEDED"
	// SubscriptionLimitExceeded: too many subscriptions open on one websocket.
	SubscriptionLimitExceeded Code = "SUBSCRIPTION_LIMIT_EXCEEDED"
	// ExpensiveFieldLimitExceeded: the operation asks for fields marked
	// expensive (such as cma) more times than one operation may;
	// extensions.field names the first.
	ExpensiveFieldLimitExceeded Code = "EXPENSIVE_FIELD_LIMIT_EXCEEDED"
)

// Conditions of the server or of a stream.
const (
	// SlowConsumer: a subscriber fell too far behind and its stream was
	// closed; it resumes from its last cursor.
	SlowConsumer Code = "SLOW_CONSUMER"
	// ShuttingDown: the server is stopping; the client reconnects elsewhere.
	ShuttingDown Code = "SHUTTING_DOWN"
	// Unavailable: a dependency (the database) is down; retry later.
	Unavailable Code = "UNAVAILABLE"
	// Internal: anything else. The message carries only a request ID; the
	// details are in the server's log.
	Internal Code = "INTERNAL"
)

// String returns the code as clients see it.
func (c Code) String() string { return string(c) }

// HTTPStatus is the status a response that carries only this error gets.
// (A body over the size limit is BAD_USER_INPUT with 413, which the body
// limit sets itself.)
func (c Code) HTTPStatus() int {
	switch c {
	case BadUserInput, UnsupportedTransport, DepthLimitExceeded, ComplexityLimitExceeded, SubscriptionLimitExceeded, ExpensiveFieldLimitExceeded:
		return http.StatusBadRequest
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case Unauthenticated:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case RateLimited:
		return http.StatusTooManyRequests
	case Unavailable, ShuttingDown:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
