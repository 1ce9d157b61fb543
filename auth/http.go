package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/estateflow/estateflow/httpserver"
	"github.com/estateflow/estateflow/internal/clienterr"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/internal/requestid"
	"github.com/estateflow/estateflow/tenant"
)

// Websocket close codes.
const (
	CloseUnauthenticated    = 4401 // the connection could not authenticate, or its token was revoked or expired
	CloseTooManyConnections = 4429 // the token has too many connections open
	// CloseTryAgainLater (RFC 6455's 1013 "Try Again Later") refuses a
	// connection_init while the database is unavailable. graphql-ws
	// clients retry it, where they give up on 4401.
	CloseTryAgainLater = 1013
	CloseInternalError = 4500 // authentication failed inside the server
)

// RetryAfterSeconds is the Retry-After a client gets while the database is
// unavailable.
const RetryAfterSeconds = "5"

// Middleware authenticates requests by their Authorization header. A
// websocket upgrade without one passes through, to authenticate in
// connection_init; anything else without a valid token is refused with
// UNAUTHENTICATED. A token that cannot be checked because the database is
// unavailable is refused with 503 UNAVAILABLE and a Retry-After instead,
// so that clients keep their token. Streams (websocket, SSE) are tied to
// their token, so that revoking it, or its expiry, ends them.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header := r.Header.Get("Authorization")
		if isWebsocket(r) {
			r = r.WithContext(withConnTracking(r.Context()))
			if header == "" {
				next.ServeHTTP(w, r)
				return
			}
		}
		v, expiresAt, err := a.fromHeader(r.Context(), header)
		if err != nil {
			ref := a.refuse(r.Context(), err)
			switch ref.code {
			case errcode.Unauthenticated:
				w.Header().Set("WWW-Authenticate", `Bearer realm="estateflow"`)
			case errcode.Unavailable:
				w.Header().Set("Retry-After", RetryAfterSeconds)
			}
			httpserver.WriteGraphQLError(w, ref.code.HTTPStatus(), ref.code, ref.message)
			return
		}
		ctx := tenant.NewContext(r.Context(), v)
		if isWebsocket(r) || strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			tracked, done, err := a.Track(ctx, v.TokenID, expiresAt)
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
// already did. A refused token closes the socket with 4401; a database
// outage with 1013 (try again later), its reason saying UNAVAILABLE.
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
	v, expiresAt, err := a.fromHeader(ctx, header)
	if err != nil {
		ref := a.refuse(ctx, err)
		closeCode, reason := CloseUnauthenticated, ref.message
		switch ref.code {
		case errcode.Unavailable:
			// The reason carries the code: a close frame has no extensions.
			closeCode, reason = CloseTryAgainLater, string(errcode.Unavailable)+": "+ref.message
		case errcode.Internal:
			closeCode, reason = CloseInternalError, string(errcode.Internal)+": "+ref.message
		}
		ctx = transport.WithWebsocketCloseCode(ctx, closeCode)
		return transport.AppendCloseReason(ctx, reason), nil, errors.New(reason)
	}
	// The connection's context ends with the connection, after which the
	// tracking is pruned; revoking the token, or its expiry, ends it sooner.
	tracked, _, err := a.Track(tenant.NewContext(ctx, v), v.TokenID, expiresAt)
	if err != nil {
		ctx = transport.WithWebsocketCloseCode(ctx, CloseTooManyConnections)
		return transport.AppendCloseReason(ctx, err.Error()), nil, err
	}
	return withSubscriptionCounter(tracked), nil, nil
}

func (a *Authenticator) fromHeader(ctx context.Context, header string) (tenant.Viewer, *time.Time, error) {
	if header == "" {
		return tenant.Viewer{}, nil, errMissing
	}
	secret, err := ParseBearer(header)
	if err != nil {
		return tenant.Viewer{}, nil, err
	}
	return a.authenticate(ctx, secret)
}

var errMissing = errors.New("auth: no token")

// refusal is what a client that could not be authenticated is told.
type refusal struct {
	code    errcode.Code
	message string
}

// refuse tells a client why it was refused, without saying whether a token
// exists. Only a verdict on the token is UNAUTHENTICATED: a failure to
// check it is the server's, and a client told UNAUTHENTICATED would throw
// a good token away.
func (a *Authenticator) refuse(ctx context.Context, err error) refusal {
	switch {
	case errors.Is(err, errMissing):
		return refusal{errcode.Unauthenticated, "authentication required: send Authorization: Bearer <token>"}
	case errors.Is(err, ErrExpired):
		return refusal{errcode.Unauthenticated, "the token has expired"}
	case errors.Is(err, ErrRevoked), errors.Is(err, ErrUnknown), errors.Is(err, ErrMalformed):
		return refusal{errcode.Unauthenticated, "the token is not valid"}
	case errors.Is(err, errLookupBusy):
		a.logger().WarnContext(ctx, "auth: no free token lookup connection", "err", err)
		return refusal{errcode.Unavailable, "the server is busy; retry later"}
	case clienterr.IsUnavailable(err), errors.Is(err, errLookupTimedOut):
		a.logger().WarnContext(ctx, "auth: database unavailable", "err", err)
		return refusal{errcode.Unavailable, clienterr.UnavailableMessage}
	}
	if !errors.Is(err, context.Canceled) { // a client that left is no failure
		a.logger().ErrorContext(ctx, "auth: checking a token", "err", err)
	}
	msg := "authentication failed inside the server"
	if id, ok := requestid.FromContext(ctx); ok {
		msg += " (request " + id + ")"
	}
	return refusal{errcode.Internal, msg}
}

func isWebsocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}
