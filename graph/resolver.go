package graph

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/99designs/gqlgen/graphql"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/graph/generated"
)

// Resolver holds what the resolvers need. It has no per-request state; the
// viewer and any open transaction travel in the context.
type Resolver struct {
	client *ent.Client
	engine *engine.Engine
	auth   *auth.Authenticator
	logger *slog.Logger
}

// NewSchema builds the executable GraphQL schema over client and the
// workflow engine.
func NewSchema(client *ent.Client, eng *engine.Engine, authn *auth.Authenticator, logger *slog.Logger) graphql.ExecutableSchema {
	return newMultiplexSchema(generated.NewExecutableSchema(generated.Config{
		Schema:    schemaWithoutDefer(),
		Resolvers: &Resolver{client: client, engine: eng, auth: authn, logger: logger},
	}))
}

// inTx runs fn in a transaction, for mutations that write more than one
// row. Entities returned from fn must be Unwrap()ped before they leave the
// resolver, so that their edges load outside the finished transaction.
//
// Mutations are not all wrapped in one transaction (entgql's Transactioner)
// because run mutations go through the engine, which commits on its own;
// on SQLite an outer write transaction would block it.
// inEngineTx runs fn in a transaction of the engine (engine.Transact), for
// mutations whose change may start automation rules: the outbox messages
// the automation package writes through fn's ctx and db commit with the
// change. Entities read in fn belong to its finished transaction (on
// PostgreSQL, a client over the *sql.Tx): read them again through
// r.client before they leave the resolver.
func (r *Resolver) inEngineTx(ctx context.Context, fn func(ctx context.Context, db *ent.Client) error) error {
	return r.engine.Transact(ctx, fn)
}

func (r *Resolver) inTx(ctx context.Context, fn func(db *ent.Client) error) error {
	tx, err := r.client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx.Client()); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
