// Package modules is the registry of the real-estate work: All lists every
// module, and through it every step kind with its executor, GraphQL output
// type, subject, required upstream kinds and run parameters. The engine
// registration, the API's typed outputs, package validation and the start
// check of a run all read this one list.
//
// Each module lives in its own package below this one; what they share (the
// descriptor types, the StepOutput marker, business days) lives in packages
// below too (spec, calendar), so that this package can import them all.
package modules
