// Package engine is EstateFlow's generic workflow engine.
//
// It knows nothing about real estate. A workflow is a set of steps whose
// dependencies form a directed acyclic graph; the engine validates that
// graph, and (as it grows) schedules ready steps, retries failed attempts,
// enforces timeouts and cancellation, and records every change of state as an
// event. Real-estate work plugs in from the modules packages by registering
// executors for step kinds.
package engine
