// Package approval implements the APPROVAL step kind: a run waits for a
// person to approve the outputs of the step's dependencies, optionally
// choosing one of the options they offer (a listing strategy's pricing
// options), before the steps downstream run.
//
// The executor does not wait itself: it describes the request (what is to
// be approved, the options, who may approve, the deadline and its action)
// and returns an engine.Wait, so that no worker or job is held while the
// person decides. Approve and Reject build the decisions that the API hands
// to engine.DecideStep; the deadline's decision (FAIL or AUTO_APPROVE) is
// built up front and stored with the wait.
//
// Files: types.go holds the request and the output, config.go reads the
// step's config, executor.go builds the wait, decide.go the decisions.
package approval
