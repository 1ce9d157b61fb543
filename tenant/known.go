package tenant

import (
	"context"
	"sync"
)

// maxKnownRows bounds the rows a context remembers; past it, lookups just
// go to the database again.
const maxKnownRows = 512

// knownRows are IDs already proven to belong to the viewer's organization.
// IDs are globally unique across tables and a row never changes
// organization, so a proof holds for the life of the context (a request,
// or one engine step): the engine writes a run's ID on every event and step
// row, and without this each write would query for it again.
type knownRows struct {
	mu  sync.Mutex
	ids map[int]struct{}
}

type knownKey struct{}

// KnownInOrg reports whether id was proven, earlier in ctx's life, to be a
// row of ctx's viewer's organization.
func KnownInOrg(ctx context.Context, id int) bool {
	k, ok := ctx.Value(knownKey{}).(*knownRows)
	if !ok {
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	_, known := k.ids[id]
	return known
}

// RememberInOrg records ids as proven rows of ctx's viewer's organization.
// The privacy rule that checks references calls it once the database has
// confirmed them; other callers may only pass IDs of rows they have just
// read through ent with this same ctx, whose privacy filter is the proof.
func RememberInOrg(ctx context.Context, ids ...int) {
	k, ok := ctx.Value(knownKey{}).(*knownRows)
	if !ok {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, id := range ids {
		if len(k.ids) >= maxKnownRows {
			return
		}
		k.ids[id] = struct{}{}
	}
}
