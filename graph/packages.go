package graph

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/graph/model"
	"github.com/estateflow/estateflow/modules"
	"github.com/estateflow/estateflow/modules/spec"
)

// maxNodesPerRequest bounds nodes(ids:) like a connection page.
const maxNodesPerRequest = 100

// maxPackageSteps bounds a package so that a run, its snapshot and its event
// stream stay small enough to show on one screen.
const maxPackageSteps = 50

// validatePackageSteps checks a package's steps before anything is written:
// what a step's kind works on and needs comes from its module (modules.All).
// Each error names the offending step by its index and key.
func validatePackageSteps(subject stepkind.Subject, steps []*model.PackageStepInput) error {
	if len(steps) == 0 {
		return badInput("input.steps", "a package needs at least one step")
	}
	if len(steps) > maxPackageSteps {
		return badInput("input.steps", "a package has at most %d steps, got %d", maxPackageSteps, len(steps))
	}
	nodes := make([]engine.Node, len(steps))
	kinds := make([]spec.StepKind, len(steps))
	for i, s := range steps {
		field := fmt.Sprintf("input.steps[%d]", i)
		k, ok := modules.Find(s.Kind)
		if !ok {
			return badInput(field+".kind", "step %q: unknown kind %q", s.Key, s.Kind)
		}
		if !k.WorksOn(subject) {
			return badInput(field+".kind", "step %q: a %s step works on a %s, but this package's subject is %s",
				s.Key, s.Kind, k.Subject, subject)
		}
		if k.CheckConfig != nil {
			if err := k.CheckConfig(s.Config); err != nil {
				return badInput(field+".config", "step %q: %v", s.Key, err)
			}
		}
		if s.Name == "" {
			return badInput(field+".name", "step %q: name must not be empty", s.Key)
		}
		if s.MaxAttempts != nil && (*s.MaxAttempts < 1 || *s.MaxAttempts > 25) {
			return badInput(field+".maxAttempts", "step %q: maxAttempts must be between 1 and 25", s.Key)
		}
		if s.TimeoutSeconds != nil && (*s.TimeoutSeconds < 1 || *s.TimeoutSeconds > 86400) {
			return badInput(field+".timeoutSeconds", "step %q: timeoutSeconds must be between 1 and 86400", s.Key)
		}
		nodes[i] = engine.Node{Key: s.Key, DependsOn: s.DependsOn}
		kinds[i] = k
	}
	var ge *engine.GraphError
	if err := engine.ValidateGraph(nodes); errors.As(err, &ge) {
		return badInput(fmt.Sprintf("input.steps[%d]", ge.Index), "%s", ge.Error())
	} else if err != nil {
		return err
	}
	return checkRequiredKinds(steps, kinds)
}

// checkRequiredKinds refuses a step whose kind reads the output of a kind
// that is not among its dependencies: every run of the package would fail
// at that step. The kind must be a direct dependency, because an executor
// sees only its dependencies' outputs (engine.StepContext.Inputs), not
// those of their ancestors. The graph is valid: every dependsOn names a step.
func checkRequiredKinds(steps []*model.PackageStepInput, kinds []spec.StepKind) error {
	kindOf := make(map[string]stepkind.Kind, len(steps))
	for _, s := range steps {
		kindOf[s.Key] = s.Kind
	}
	for i, s := range steps {
		for _, need := range kinds[i].Requires {
			if slices.ContainsFunc(s.DependsOn, func(dep string) bool { return kindOf[dep] == need }) {
				continue
			}
			msg := fmt.Sprintf("step %q: a %s step reads the output of a %s step, which is missing from its dependsOn",
				s.Key, s.Kind, need)
			if j := slices.IndexFunc(steps, func(o *model.PackageStepInput) bool { return o.Kind == need }); j >= 0 {
				msg += fmt.Sprintf(" (step %q is one: depend on it directly)", steps[j].Key)
			}
			return badInput(fmt.Sprintf("input.steps[%d].dependsOn", i), "%s", msg)
		}
	}
	return nil
}

func createPackageSteps(ctx context.Context, db *ent.Client, packageID int, steps []*model.PackageStepInput) error {
	builders := make([]*ent.PackageStepCreate, len(steps))
	for i, s := range steps {
		deps := s.DependsOn
		if deps == nil {
			deps = []string{}
		}
		builders[i] = db.PackageStep.Create().
			SetPackageID(packageID).
			SetKey(s.Key).
			SetName(s.Name).
			SetKind(s.Kind).
			SetDependsOn(deps).
			SetConfig(s.Config).
			SetNillableMaxAttempts(s.MaxAttempts).
			SetNillableTimeoutSeconds(s.TimeoutSeconds).
			SetPosition(i)
	}
	if _, err := db.PackageStep.CreateBulk(builders...).Save(ctx); err != nil {
		return fmt.Errorf("creating steps of package %d: %w", packageID, err)
	}
	return nil
}

func validateBoundingBox(b *model.BoundingBox) error {
	switch {
	case b.MinLat < -90 || b.MinLat > 90:
		return badInput("within.minLat", "minLat must be between -90 and 90")
	case b.MaxLat < -90 || b.MaxLat > 90:
		return badInput("within.maxLat", "maxLat must be between -90 and 90")
	case b.MinLng < -180 || b.MinLng > 180:
		return badInput("within.minLng", "minLng must be between -180 and 180")
	case b.MaxLng < -180 || b.MaxLng > 180:
		return badInput("within.maxLng", "maxLng must be between -180 and 180")
	case b.MinLat > b.MaxLat:
		return badInput("within.minLat", "minLat must not be greater than maxLat")
	case b.MinLng > b.MaxLng:
		return badInput("within.minLng", "minLng must not be greater than maxLng (boxes across the antimeridian are not supported)")
	}
	return nil
}
