package homevalue

import (
	"context"
	"errors"
	"fmt"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/modules/crm"
	"github.com/estateflow/estateflow/modules/spec"
)

// Module describes the home-value step kinds.
func Module() spec.Module {
	return spec.Module{
		Name: "homevalue",
		Kinds: []spec.StepKind{{
			Kind:         stepkind.HomeValuation,
			Subject:      stepkind.SubjectClient,
			Params:       analytics.Params(),
			CheckSubject: CheckHome,
			NewOutput:    func() spec.StepOutput { return &Valuation{} },
			NewExecutor:  func(d spec.Deps) engine.Executor { return Executor{Client: d.Client} },
		}},
	}
}

// CheckHome refuses a run on a client without a home on record.
func CheckHome(ctx context.Context, db *ent.Client, clientID int) error {
	_, err := crm.HomeOf(ctx, db, clientID)
	if errors.Is(err, crm.ErrNoHome) {
		return &engine.Error{Code: errcode.BadUserInput, Field: "input.clientId",
			Message: fmt.Sprintf("client %d: %v; record the purchase as a transaction (side BUYER, stage CLOSED) first", clientID, err)}
	}
	return err
}

// Executor runs HOME_VALUATION.
type Executor struct {
	Client *ent.Client
}

// Execute implements engine.Executor.
func (x Executor) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	c, _, err := crm.LoadClient(ctx, x.Client, sc)
	if err != nil {
		return nil, err
	}
	home, err := crm.HomeOf(ctx, x.Client, c.ID)
	if errors.Is(err, crm.ErrNoHome) {
		return nil, engine.Permanent(fmt.Errorf("client %d: %w", c.ID, err))
	}
	if err != nil {
		return nil, err
	}
	p, buy := home.Property, home.Purchase
	report, err := analytics.ValueStep(ctx, x.Client, sc, p)
	if err != nil {
		return nil, err
	}
	v := &Valuation{ClientID: c.ID, PropertyID: p.ID, Address: p.Address, City: p.City, Zip: p.Zip,
		PurchaseTransactionID: buy.ID, PurchasePrice: buy.Price, PurchaseDate: buy.ClosingDate, CMA: *report}
	v.Basis = fmt.Sprintf("the home %s bought through transaction %d", c.Name, buy.ID)
	if buy.ClosingDate != nil {
		v.Basis += ", closed " + buy.ClosingDate.Format("Jan 2, 2006")
	}
	return v, nil
}
