package crm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/deal"
)

// A past client's home is the property of their most recent CLOSED
// buyer-side transaction, unless the same client has since sold it (a
// CLOSED seller-side transaction of that property that closed later). The
// record that makes it theirs is the transaction; nothing else links a
// client to a property.

// ErrNoHome is a client without a home on record.
var ErrNoHome = errors.New("the client has no home on record: no CLOSED buyer-side transaction of a property they have not sold since")

// Home is a client's home and the purchase that makes it theirs.
type Home struct {
	Property *ent.Property
	Purchase *ent.Deal
}

// HomeOf finds the client's home, or ErrNoHome.
func HomeOf(ctx context.Context, db *ent.Client, clientID int) (Home, error) {
	deals, err := db.Deal.Query().
		Where(deal.ClientID(clientID), deal.StageEQ(deal.StageCLOSED)).
		WithProperty().
		All(ctx)
	if err != nil {
		return Home{}, fmt.Errorf("reading the closed transactions of client %d: %w", clientID, err)
	}
	var best *ent.Deal
	for _, d := range deals {
		if d.Side != deal.SideBUYER || soldSince(deals, d) {
			continue
		}
		if best == nil || later(d, best) {
			best = d
		}
	}
	if best == nil {
		return Home{}, ErrNoHome
	}
	return Home{Property: best.Edges.Property, Purchase: best}, nil
}

// soldSince reports whether the client sold the property bought in buy
// after buying it.
func soldSince(deals []*ent.Deal, buy *ent.Deal) bool {
	for _, d := range deals {
		if d.Side == deal.SideSELLER && d.PropertyID == buy.PropertyID && later(d, buy) {
			return true
		}
	}
	return false
}

// later orders closed transactions by closing date (a missing one counts
// as the time the row was last changed), then by ID.
func later(a, b *ent.Deal) bool {
	ta, tb := closedAt(a), closedAt(b)
	if !ta.Equal(tb) {
		return ta.After(tb)
	}
	return a.ID > b.ID
}

func closedAt(d *ent.Deal) time.Time {
	if d.ClosingDate != nil {
		return *d.ClosingDate
	}
	return d.UpdatedAt
}
