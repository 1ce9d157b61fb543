package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/estateflow/estateflow/httpserver"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/tenant"
)

// Websocket close codes.
const (
	CloseUnauthenticated    = 4401 // the connection could not authenticate
	CloseTooManyConnections = 4429 // the token has too many connections open
)

// Middleware authenticates requests by their Authorization header. A
// websocket upgrade without one passes through, to authenticate in
// connection_init; anything else without a valid token is refused with
// UNAUTHENTICATED. Streams (websocket, SSE) are tied to their token, so
// that revoking it ends them.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		if header == "" && isWebsocket(r) {
			next.ServeHTTP(w, r)
			return
		}
		v, err := a.fromHeader(r.Context(), header)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="estateflow"`)
			httpserver.WriteGraphQLError(w, http.StatusUnauthorized, errcode.Unauthenticated, message(err))
			return
		}
		ctx := tenant.NewContext(r.Context(), v)
		if isWebsocket(r) || strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			tracked, done, err := a.Track(ctx, v.TokenID)
			if err != nil {
				httpserver.WriteGraphQLError(w, http.StatusTooManyRequests, errcode.RateLimited, err.Error())
				return
			}
			defer done()
			ctx = tracked
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// WebsocketInit authenticates a websocket by the Authorization entry
// (any case) of its connection_init payload, unless its upgrade request
// already did. A failure closes the socket with code 4401.
func (a *Authenticator) WebsocketInit(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	if _, ok := tenant.FromContext(ctx); ok {
		// Authenticated by the upgrade request's Authorization header: the
		// connection was tracked there, and its subscriptions are counted
		// like any other connection's.
		return withSubscriptionCounter(ctx), nil, nil
	}
	var header string
	for k, v := range payload {
		if strings.EqualFold(k, "authorization") {
			header, _ = v.(string)
			// The payload stays with the connection; the secret need not.
			delete(payload, k)
		}
	}
	v, err := a.fromHeader(ctx, header)
	if err != nil {
		msg := message(err)
		ctx = transport.WithWebsocketCloseCode(ctx, CloseUnauthenticated)
		return transport.AppendCloseReason(ctx, msg), nil, errors.New(msg)
	}
	// The connection's context ends with the connection, after which the
	// tracking is pruned; revoking the token ends it sooner.
	tracked, _, err := a.Track(tenant.NewContext(ctx, v), v.TokenID)
	if err != nil {
		ctx = transport.WithWebsocketCloseCode(ctx, CloseTooManyConnections)
		return transport.AppendCloseReason(ctx, err.Error()), nil, err
	}
	return withSubscriptionCounter(tracked), nil, nil
}

func (a *Authenticator) fromHeader(ctx context.Context, header string) (tenant.Viewer, error) {
	if header == "" {
		return tenant.Viewer{}, errMissing
	}
	secret, err := ParseBearer(header)
	if err != nil {
		return tenant.Viewer{}, err
	}
	return a.Authenticate(ctx, secret)
}

var errMissing = errors.New("auth: no token")

// message tells a client why it was refused, without saying whether a
// token exists.
func message(err error) string {
	switch {
	case errors.Is(err, errMissing):
		return "authentication required: send Authorization: Bearer <token>"
	case errors.Is(err, ErrExpired):
		return "the token has expired"
	case errors.Is(err, ErrRevoked), errors.Is(err, ErrUnknown), errors.Is(err, ErrMalformed):
		return "the token is not valid"
	default:
		return "authentication failed"
	}
}

func isWebsocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}
