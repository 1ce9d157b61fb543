package modules

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/modules/spec"
)

// StartChecker is the engine's check of a run before it is created
// (engine.Config.CheckStart): its parameters must suit its package's step
// kinds (CheckParams) and its subject must exist in the viewer's
// organization (CheckSubject). A bad run is refused at startRun instead of
// failing steps into its execution.
func StartChecker(client *ent.Client) engine.StartChecker {
	return func(ctx context.Context, c engine.StartCheck) error {
		if err := CheckParams(c.Kinds, c.Params); err != nil {
			return err
		}
		if err := CheckSubject(ctx, client, c.Subject); err != nil {
			return err
		}
		return checkKindSubjects(ctx, client, c)
	}
}

// checkKindSubjects runs the subject checks of the package's step kinds
// (spec.StepKind.CheckSubject), once per kind.
func checkKindSubjects(ctx context.Context, client *ent.Client, c engine.StartCheck) error {
	seen := map[string]bool{}
	for _, k := range c.Kinds {
		if seen[k] {
			continue
		}
		seen[k] = true
		sk, ok := Find(stepkind.Kind(k))
		if !ok || sk.CheckSubject == nil {
			continue
		}
		if err := sk.CheckSubject(ctx, client, c.Subject.ID); err != nil {
			return err
		}
	}
	return nil
}

// CheckParams validates a run's parameters against those its package's step
// kinds declare. A declared parameter must have its declared type and range
// (JSON null counts as absent). A key that no step of the package reads is
// refused too: it would be stored and silently ignored, and it is most
// likely a misspelling (budget for marketingBudget) that would otherwise
// surface only as a default in the run's output.
func CheckParams(kinds []string, params map[string]any) error {
	declared := map[string]spec.Param{}
	for _, k := range kinds {
		sk, ok := Find(stepkind.Kind(k))
		if !ok {
			continue
		}
		for _, p := range sk.Params {
			declared[p.Name] = p
		}
	}
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	slices.Sort(names) // the first error is the same on every call
	for _, name := range names {
		p, ok := declared[name]
		if !ok {
			return paramError(name, "params.%s: %s", name, undeclaredReason(declared))
		}
		if err := p.Check(params[name]); err != nil {
			return paramError(name, "params.%s %v", name, err)
		}
	}
	return nil
}

func undeclaredReason(declared map[string]spec.Param) string {
	if len(declared) == 0 {
		return "no step of this package reads a parameter, so params must be empty"
	}
	names := make([]string, 0, len(declared))
	for name := range declared {
		names = append(names, name)
	}
	slices.Sort(names)
	return "no step of this package reads it; its steps read " + strings.Join(names, ", ")
}

func paramError(name, format string, args ...any) *engine.Error {
	return &engine.Error{Code: errcode.BadUserInput, Field: "input.params." + name, Message: fmt.Sprintf(format, args...)}
}
