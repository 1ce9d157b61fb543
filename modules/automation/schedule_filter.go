package automation

import (
	"context"
	"fmt"
	"slices"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/contact"
	"github.com/estateflow/estateflow/ent/deal"
	"github.com/estateflow/estateflow/ent/predicate"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/ent/schema/schedulespec"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/internal/errcode"
)

// maxFilterValues bounds each list of a filter.
const maxFilterValues = 50

// CheckFilter refuses a filter that does not suit the package's subject
// (a property field for a client package, and the other way round) or holds
// a value that is not a stage, status or ZIP code.
func CheckFilter(subject stepkind.Subject, f schedulespec.Filter) error {
	bad := func(field, format string, args ...any) error {
		return &engine.Error{Code: errcode.BadUserInput, Field: "input.filter." + field, Message: fmt.Sprintf(format, args...)}
	}
	switch subject {
	case stepkind.SubjectClient:
		if len(f.PropertyStatuses) > 0 {
			return bad("propertyStatuses", "the package works on clients: propertyStatuses filters properties; use pastClients or clientStages")
		}
		if len(f.Zips) > 0 {
			return bad("zips", "the package works on clients: zips filters properties; use pastClients or clientStages")
		}
	case stepkind.SubjectProperty:
		if f.PastClients {
			return bad("pastClients", "the package works on properties: pastClients filters clients; use propertyStatuses or zips")
		}
		if len(f.ClientStages) > 0 {
			return bad("clientStages", "the package works on properties: clientStages filters clients; use propertyStatuses or zips")
		}
	}
	for _, s := range f.ClientStages {
		if contact.StageValidator(contact.Stage(s)) != nil {
			return bad("clientStages", "%q is not a client stage (LEAD, PROSPECT, ACTIVE, PAST_CLIENT)", s)
		}
	}
	for _, s := range f.PropertyStatuses {
		if property.StatusValidator(property.Status(s)) != nil {
			return bad("propertyStatuses", "%q is not a property status (ACTIVE, PENDING, SOLD, OFF_MARKET)", s)
		}
	}
	for _, z := range f.Zips {
		if z == "" || len(z) > 10 {
			return bad("zips", "%q is not a ZIP code", z)
		}
	}
	for field, n := range map[string]int{"clientStages": len(f.ClientStages), "propertyStatuses": len(f.PropertyStatuses), "zips": len(f.Zips)} {
		if n > maxFilterValues {
			return bad(field, "at most %d values", maxFilterValues)
		}
	}
	return nil
}

// SelectRecords returns the IDs of the viewer organization's records of
// the subject that the filter chooses, in ID order.
func SelectRecords(ctx context.Context, db *ent.Client, subject stepkind.Subject, f schedulespec.Filter) ([]int, error) {
	var (
		ids []int
		err error
	)
	switch subject {
	case stepkind.SubjectClient:
		var ps []predicate.Contact
		if f.PastClients {
			ps = append(ps, contact.HasDealsWith(deal.StageEQ(deal.StageCLOSED)))
		}
		if len(f.ClientStages) > 0 {
			stages := make([]contact.Stage, len(f.ClientStages))
			for i, s := range f.ClientStages {
				stages[i] = contact.Stage(s)
			}
			ps = append(ps, contact.StageIn(stages...))
		}
		ids, err = db.Contact.Query().Where(ps...).Order(contact.ByID()).IDs(ctx)
	case stepkind.SubjectProperty:
		var ps []predicate.Property
		if len(f.PropertyStatuses) > 0 {
			statuses := make([]property.Status, len(f.PropertyStatuses))
			for i, s := range f.PropertyStatuses {
				statuses[i] = property.Status(s)
			}
			ps = append(ps, property.StatusIn(statuses...))
		}
		if len(f.Zips) > 0 {
			ps = append(ps, property.ZipIn(slices.Clone(f.Zips)...))
		}
		ids, err = db.Property.Query().Where(ps...).Order(property.ByID()).IDs(ctx)
	default:
		return nil, fmt.Errorf("unknown subject %q", subject)
	}
	if err != nil {
		return nil, fmt.Errorf("selecting the schedule's records: %w", err)
	}
	return ids, nil
}
