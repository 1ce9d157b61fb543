package graph

import (
	"context"
	"errors"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/estateflow/estateflow/engine"
)

// Codes that end a subscription.
const (
	CodeSlowConsumer = "SLOW_CONSUMER"
	CodeShuttingDown = "SHUTTING_DOWN"
)

// endSubscription returns the callback the engine calls when a stream ends.
// A stream that ends abnormally (a slow consumer, a shutdown, a database
// error) sends the client a coded error before the stream closes, so that it
// knows to resume from its cursor.
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
			gqlErr = codedError(CodeSlowConsumer, "", "%s", err.Error())
		case errors.Is(err, engine.ErrStopping):
			gqlErr = codedError(CodeShuttingDown, "", "%s", err.Error())
		default:
			r.logger.ErrorContext(ctx, "graphql: subscription failed", "err", err)
			gqlErr = codedError(CodeInternal, "", "the subscription failed; resume from the last seq received")
		}
		addSubscriptionError(ctx, gqlErr)
	}
}

// addSubscriptionError reports err on a websocket subscription. gqlgen keeps
// that error channel only for websockets; over SSE the stream just ends, and
// the missing terminal event tells the client to resume.
func addSubscriptionError(ctx context.Context, err *gqlerror.Error) {
	defer func() { _ = recover() }() // not a websocket subscription
	transport.AddSubscriptionError(ctx, err)
}
