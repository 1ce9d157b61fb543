package database

import (
	"context"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/intercept"
	"github.com/estateflow/estateflow/ent/packagestep"
	"github.com/estateflow/estateflow/ent/steprun"
)

// orderSteps makes the steps of a package or a run come back in their
// authored order from every query, including the eager loads behind GraphQL
// lists, where resolvers could not sort them: entgql selects only the
// columns a query asks for, so position is often not even loaded.
func orderSteps(client *ent.Client) {
	client.PackageStep.Intercept(intercept.TraversePackageStep(func(_ context.Context, q *ent.PackageStepQuery) error {
		q.Order(packagestep.ByPosition(), packagestep.ByID())
		return nil
	}))
	client.StepRun.Intercept(intercept.TraverseStepRun(func(_ context.Context, q *ent.StepRunQuery) error {
		q.Order(steprun.ByPosition(), steprun.ByID())
		return nil
	}))
}
