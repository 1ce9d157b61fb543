package auth

import (
	"context"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/estateflow/estateflow/internal/errcode"
)

type subscriptionCounterKey struct{}

// withSubscriptionCounter gives a websocket connection's context a count
// of its open subscriptions.
func withSubscriptionCounter(ctx context.Context) context.Context {
	return context.WithValue(ctx, subscriptionCounterKey{}, new(atomic.Int32))
}

// SubscriptionLimit bounds the subscriptions open at once on one websocket
// connection; one over it is refused with SUBSCRIPTION_LIMIT_EXCEEDED.
type SubscriptionLimit struct{ Max int }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = SubscriptionLimit{}

// ExtensionName implements graphql.HandlerExtension.
func (SubscriptionLimit) ExtensionName() string { return "SubscriptionLimit" }

// Validate implements graphql.HandlerExtension.
func (SubscriptionLimit) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation implements graphql.OperationInterceptor.
func (l SubscriptionLimit) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	count, ok := ctx.Value(subscriptionCounterKey{}).(*atomic.Int32)
	if !ok || oc.Operation == nil || oc.Operation.Operation != ast.Subscription {
		return next(ctx)
	}
	if int(count.Add(1)) > l.Max {
		count.Add(-1)
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{
			Message:    "too many subscriptions on this connection; close one first",
			Extensions: map[string]any{"code": string(errcode.SubscriptionLimitExceeded)},
		}}})
	}
	// The operation's context ends with the subscription.
	context.AfterFunc(ctx, func() { count.Add(-1) })
	return next(ctx)
}
