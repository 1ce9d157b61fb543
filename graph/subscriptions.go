package graph

import (
	"context"
	"errors"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/internal/clienterr"
	"github.com/estateflow/estateflow/internal/errcode"
)

// endSubscription returns the callback the engine calls when a stream ends.
// A stream that ends abnormally (a slow consumer, a shutdown, a database
// outage or error) sends the client a coded error before the stream closes,
// so that it knows to resume from its cursor.
func (r *Resolver) endSubscription(ctx context.Context) func(error) {
	return func(err error) {
		// Once the subscription's context is done, gqlgen has stopped reading
		// the stream and reads its error list without a lock, so writing it
		// now would race; the client has gone or completed anyway. On
		// PostgreSQL a canceled query surfaces as a driver error, not as
		// context.Canceled, which is why the error alone cannot tell.
		if err == nil || ctx.Err() != nil {
			return
		}
		var gqlErr *gqlerror.Error
		switch {
		case errors.Is(err, engine.ErrSlowConsumer):
			gqlErr = codedError(errcode.SlowConsumer, "", "%s", err.Error())
		case errors.Is(err, engine.ErrStopping):
			gqlErr = codedError(errcode.ShuttingDown, "", "%s", err.Error())
		case clienterr.IsUnavailable(err):
			// The stream could not read its events: the database is down.
			// The client resumes from its cursor once it is back.
			r.logger.WarnContext(ctx, "graphql: subscription ended: database unavailable", "err", err)
			gqlErr = codedError(errcode.Unavailable, "", "%s; resume from the last seq received", clienterr.UnavailableMessage)
		default:
			r.logger.ErrorContext(ctx, "graphql: subscription failed", "err", err)
			gqlErr = codedError(errcode.Internal, "", "the subscription failed; resume from the last seq received")
		}
		addSubscriptionError(ctx, gqlErr)
	}
}

// addSubscriptionError reports err on a websocket subscription. gqlgen keeps
// that error channel only for websockets (elsewhere AddSubscriptionError
// dereferences a nil pointer); over SSE the stream just ends, and the
// missing terminal event tells the client to resume.
func addSubscriptionError(ctx context.Context, err *gqlerror.Error) {
	if !isWebsocket(ctx) {
		return
	}
	transport.AddSubscriptionError(ctx, err)
}

// websocketKey marks the context of a websocket connection. gqlgen's own
// mark (the subscription error list) is private to its transport package.
type websocketKey struct{}

// websocketInit marks the connection's context, which every operation on
// the connection inherits, before init authenticates it.
func websocketInit(init transport.WebsocketInitFunc) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		return init(context.WithValue(ctx, websocketKey{}, true), payload)
	}
}

// isWebsocket reports whether ctx belongs to an operation on a websocket.
func isWebsocket(ctx context.Context) bool {
	ws, _ := ctx.Value(websocketKey{}).(bool)
	return ws
}
