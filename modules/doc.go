// Package modules holds what the real-estate modules share: the marker of a
// step's typed output. Each module lives in its own package below this one
// and registers its step kinds with the engine.
package modules

// StepOutput is a step's typed output, as exposed to GraphQL clients.
type StepOutput interface {
	IsStepOutput()
}
