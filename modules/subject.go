package modules

import (
	"context"
	"fmt"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/contact"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/internal/errcode"
)

// CheckSubject reports a run's subject that does not exist in the viewer's
// organization as NOT_FOUND. Another organization's record is filtered out
// by the privacy rules, so it gets the same answer as an unknown ID.
func CheckSubject(ctx context.Context, client *ent.Client, s engine.Subject) error {
	var (
		ok    bool
		err   error
		field string
		what  string
	)
	switch s.Type {
	case engine.SubjectProperty:
		field, what = "input.propertyId", "property"
		ok, err = client.Property.Query().Where(property.ID(s.ID)).Exist(ctx)
	case engine.SubjectClient:
		field, what = "input.clientId", "client"
		ok, err = client.Contact.Query().Where(contact.ID(s.ID)).Exist(ctx)
	default:
		return fmt.Errorf("modules: unknown subject type %q", s.Type)
	}
	if err != nil {
		return fmt.Errorf("looking up %s %d: %w", what, s.ID, err)
	}
	if !ok {
		return &engine.Error{Code: errcode.NotFound, Field: field, Message: fmt.Sprintf("%s %d not found", what, s.ID)}
	}
	return nil
}
