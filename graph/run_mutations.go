package graph

import (
	"context"
	"fmt"

	"github.com/estateflow/estateflow/ent"
)

// readAgain reads a run the engine returned from a transaction again,
// through the resolver's client: that row is bound to its transaction,
// which has ended, so resolving its edges (steps, package, events) would
// fail. The run read again is also its latest state.
func (r *mutationResolver) readAgain(ctx context.Context) func(*ent.Run, error) (*ent.Run, error) {
	return func(run *ent.Run, err error) (*ent.Run, error) {
		if err != nil {
			return nil, err
		}
		fresh, err := r.client.Run.Get(ctx, run.ID)
		if err != nil {
			return nil, fmt.Errorf("reading run %d: %w", run.ID, err)
		}
		return fresh, nil
	}
}
