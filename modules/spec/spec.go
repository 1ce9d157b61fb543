// Package spec is the contract between a real-estate module and the rest of
// EstateFlow: how a module describes each step kind it implements (its
// executor, typed output, subject, required upstream kinds and run
// parameters), and the helpers its executors share to read their inputs.
//
// It sits below the module packages so that they can use it while the root
// package modules, which lists every module, imports them all.
package spec

import (
	"context"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

// StepOutput is a step's typed output, as exposed to GraphQL clients (the
// StepOutput union).
type StepOutput interface {
	IsStepOutput()
}

// Deps are what executors are built from. Now is the clock: tests pin it.
type Deps struct {
	Client *ent.Client
	Now    func() time.Time
	// PublicURL is the server's address as the public reaches it
	// (https://app.example.com): links in emails, such as unsubscribe
	// links, are built on it.
	PublicURL string
}

// Subjects lists the subjects a kind works on.
func (k StepKind) Subjects() []stepkind.Subject {
	if k.AnySubject {
		return []stepkind.Subject{stepkind.SubjectProperty, stepkind.SubjectClient}
	}
	return []stepkind.Subject{k.Subject}
}

// WorksOn reports whether a package of the given subject may hold the kind.
func (k StepKind) WorksOn(s stepkind.Subject) bool {
	return k.AnySubject || k.Subject == s
}

// Module is one area of the real-estate work and the step kinds it
// implements.
type Module struct {
	Name  string
	Kinds []StepKind
}

// StepKind describes one kind of step completely: everything the engine,
// the API and package validation need to know about it.
type StepKind struct {
	Kind stepkind.Kind
	// Subject is what a step of this kind works on; a package may only
	// chain kinds of its own subject. Empty with AnySubject.
	Subject stepkind.Subject
	// AnySubject: the kind works in packages of either subject (APPROVAL).
	AnySubject bool
	// CheckConfig, when set, refuses a step config (PackageStep.config) the
	// executor could not use, before a package is saved.
	CheckConfig func(config map[string]any) error
	// Requires lists the kinds whose output the executor reads and cannot
	// do without. Executors see only their direct dependencies' outputs
	// (engine.StepContext.Inputs), so each must be among the step's
	// dependsOn. Outputs an executor uses when present but can do without
	// (a lead tier) are not listed.
	Requires []stepkind.Kind
	// Params are the run parameters (StartRequest.Params) the executor reads.
	Params []Param
	// CheckSubject, when set, refuses at startRun a subject the kind
	// cannot work on (a client without a home on record), with an
	// *engine.Error; the subject exists in the viewer's organization.
	CheckSubject func(ctx context.Context, db *ent.Client, subjectID int) error
	// NewOutput returns the zero typed output, into which a stored output
	// is decoded.
	NewOutput func() StepOutput
	// NewExecutor builds the executor from its dependencies.
	NewExecutor func(Deps) engine.Executor
}
