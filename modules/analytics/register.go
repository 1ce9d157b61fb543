package analytics

import (
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

// Register registers the analytics step kinds with the engine.
func Register(e *engine.Engine, client *ent.Client) {
	e.Register(string(stepkind.CMAAnalysis), Executor{Client: client})
}
