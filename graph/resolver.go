package graph

import (
	"context"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/graph/generated"
)

// Resolver holds what the resolvers need. It has no per-request state; the
// viewer and any open transaction travel in the context.
type Resolver struct {
	client *ent.Client
	logger *slog.Logger
}

// NewSchema builds the executable GraphQL schema over client.
func NewSchema(client *ent.Client, logger *slog.Logger) graphql.ExecutableSchema {
	return generated.NewExecutableSchema(generated.Config{
		Resolvers: &Resolver{client: client, logger: logger},
	})
}

// db returns the client to use in ctx: the transaction that entgql's
// Transactioner opened for a mutation, or the plain client for queries.
func (r *Resolver) db(ctx context.Context) *ent.Client {
	if c := ent.FromContext(ctx); c != nil {
		return c
	}
	return r.client
}
