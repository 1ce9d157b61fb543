package automation

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/automationrule"
	"github.com/estateflow/estateflow/ent/contact"
	"github.com/estateflow/estateflow/ent/deal"
	"github.com/estateflow/estateflow/ent/packagestep"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/workflowpackage"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/modules"
)

// stageCheck returns the check of a change event's from and to values
// (the record's stage or status enum) and the enum's GraphQL name;
// CLIENT_CREATED has none.
func stageCheck(ev automationrule.Event) (func(string) error, string) {
	switch ev {
	case automationrule.EventCLIENT_STAGE_CHANGED:
		return func(s string) error { return contact.StageValidator(contact.Stage(s)) }, "ClientStage"
	case automationrule.EventPROPERTY_STATUS_CHANGED:
		return func(s string) error { return property.StatusValidator(property.Status(s)) }, "PropertyStatus"
	case automationrule.EventTRANSACTION_STAGE_CHANGED:
		return func(s string) error { return deal.StageValidator(deal.Stage(s)) }, "TransactionStage"
	}
	return nil, ""
}

// subjectsOf lists the package subjects an event can start a package on:
// a client event runs client packages, a property event property
// packages, and a transaction, which has both, either.
func subjectsOf(ev automationrule.Event) []stepkind.Subject {
	switch ev {
	case automationrule.EventCLIENT_CREATED, automationrule.EventCLIENT_STAGE_CHANGED:
		return []stepkind.Subject{stepkind.SubjectClient}
	case automationrule.EventPROPERTY_STATUS_CHANGED:
		return []stepkind.Subject{stepkind.SubjectProperty}
	default:
		return []stepkind.Subject{stepkind.SubjectClient, stepkind.SubjectProperty}
	}
}

func inputError(field, format string, args ...any) *engine.Error {
	return &engine.Error{Code: errcode.BadUserInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Check validates a rule as it was saved, in the transaction that saved
// it, so that a refused rule is rolled back. Fields are named as in the
// GraphQL input (input.packageKey).
func Check(ctx context.Context, db *ent.Client, r *ent.AutomationRule) error {
	check, enum := stageCheck(r.Event)
	for _, s := range []struct {
		field string
		value *string
	}{{"input.fromStage", r.FromStage}, {"input.toStage", r.ToStage}} {
		if s.value == nil {
			continue
		}
		if check == nil {
			return inputError(s.field, "%s has no stages: leave %s out", r.Event, strings.TrimPrefix(s.field, "input."))
		}
		if check(*s.value) != nil {
			return inputError(s.field, "%q is not a %s value, which %s compares", *s.value, enum, r.Event)
		}
	}
	if r.FromStage != nil && r.ToStage != nil && *r.FromStage == *r.ToStage {
		return inputError("input.toStage", "toStage must differ from fromStage: a change goes somewhere")
	}
	if r.ConditionLeadSource != nil && r.Event != automationrule.EventCLIENT_CREATED && r.Event != automationrule.EventCLIENT_STAGE_CHANGED && r.Event != automationrule.EventTRANSACTION_STAGE_CHANGED {
		return inputError("input.conditionLeadSource", "a lead source is a client's: %s has no client", r.Event)
	}
	pkg, err := db.WorkflowPackage.Query().
		Where(workflowpackage.Key(r.PackageKey)).
		WithSteps(func(q *ent.PackageStepQuery) { q.Order(packagestep.ByPosition()) }).
		Only(ctx)
	if ent.IsNotFound(err) {
		return inputError("input.packageKey", "no package has the key %q", r.PackageKey)
	}
	if err != nil {
		return fmt.Errorf("automation: loading package %q: %w", r.PackageKey, err)
	}
	if pkg.Archived {
		return inputError("input.packageKey", "package %q is archived", r.PackageKey)
	}
	if !slices.Contains(subjectsOf(r.Event), pkg.Subject) {
		return inputError("input.packageKey", "package %q works on a %s, but %s happens to a %s",
			r.PackageKey, strings.ToLower(string(pkg.Subject)), r.Event, strings.ToLower(string(subjectsOf(r.Event)[0])))
	}
	if r.PackageVersion != nil && *r.PackageVersion != pkg.Version {
		return inputError("input.packageVersion", "package %q is at version %d; a rule can pin only the current version", r.PackageKey, pkg.Version)
	}
	kinds := make([]string, len(pkg.Edges.Steps))
	for i, s := range pkg.Edges.Steps {
		kinds[i] = string(s.Kind)
	}
	if err := modules.CheckParams(kinds, r.Params); err != nil {
		return err
	}
	return nil
}
