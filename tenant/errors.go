package tenant

import (
	"errors"
	"fmt"
)

// ErrNoViewer is returned for database work attempted without a viewer or a
// system context.
var ErrNoViewer = errors.New("tenant: no viewer in context")

// ErrAdminOnly refuses an AGENT a change that only an ADMIN may make.
var ErrAdminOnly = errors.New("only an ADMIN of the organization may manage users and tokens")

// ForeignReferenceError refuses a write that points at a row the viewer
// cannot see: another organization's, or none at all. The two cases are
// deliberately indistinguishable.
type ForeignReferenceError struct {
	Edge string // the ent edge, such as "client"
	ID   int
}

func (e *ForeignReferenceError) Error() string {
	return fmt.Sprintf("%s %d not found", e.Edge, e.ID)
}
