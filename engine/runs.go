package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/packagestep"
	"github.com/estateflow/estateflow/ent/run"
	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/ent/workflowpackage"
	"github.com/estateflow/estateflow/tenant"
)

// StartRequest asks for a run of a package.
type StartRequest struct {
	PackageID      int
	PropertyID     *int
	ClientID       *int
	Params         map[string]any
	IdempotencyKey *string
	// PackageVersion, when set, is the version the run must start: a
	// package at another version is a CONFLICT (a rule that pinned a
	// version the package has left).
	PackageVersion *int
	// Trigger records what started the run, for Run.trigger; nil for a
	// start by a person or program. The engine stores it as it is.
	Trigger map[string]any
	// Accepted marks a start the system owes for work already accepted: a
	// trigger's committed event, a schedule's occurrence. Admission control
	// does not refuse it, because no caller is there to retry and the
	// event would be lost; the run queues and is counted in the backlog,
	// so people's starts are refused while it drains.
	Accepted bool
}

// StartRun creates a run of the current version of a package and starts
// it. With an idempotency key already used in the organization it returns
// the run that key started, if the request is the same, and a CONFLICT
// error otherwise. ctx must carry the viewer.
func (e *Engine) StartRun(ctx context.Context, req StartRequest) (*ent.Run, error) {
	if req.IdempotencyKey != nil {
		if *req.IdempotencyKey == "" || len(*req.IdempotencyKey) > 200 {
			return nil, inputError("input.idempotencyKey", "idempotencyKey must be 1 to 200 characters")
		}
		if r, err := e.existingRun(ctx, req); r != nil || err != nil {
			return r, err
		}
	}
	if err := e.admit(ctx, req.Accepted); err != nil {
		return nil, err
	}
	pkg, err := e.client.WorkflowPackage.Query().
		Where(workflowpackage.ID(req.PackageID)).
		WithSteps(func(q *ent.PackageStepQuery) { q.Order(packagestep.ByPosition()) }).
		Only(ctx)
	if ent.IsNotFound(err) {
		return nil, notFoundError("input.packageId", "package %d not found", req.PackageID)
	}
	if err != nil {
		return nil, fmt.Errorf("engine: loading package %d: %w", req.PackageID, err)
	}
	if pkg.Archived {
		return nil, inputError("input.packageId", "package %q is archived", pkg.Key)
	}
	if req.PackageVersion != nil && *req.PackageVersion != pkg.Version {
		return nil, conflictError("input.packageVersion", "package %q is at version %d, not %d", pkg.Key, pkg.Version, *req.PackageVersion)
	}
	if err := e.checkStart(ctx, pkg, req); err != nil {
		return nil, err
	}
	hash, err := requestHash(req)
	if err != nil {
		return nil, inputError("input.params", "params must be JSON: %v", err)
	}

	t, err := e.transact(ctx, func(ctx context.Context, db *ent.Client) (*txn, error) {
		return e.createRun(ctx, db, pkg, req, hash)
	})
	if err != nil {
		if req.IdempotencyKey != nil && ent.IsConstraintError(err) {
			// A concurrent start with the same key won the race.
			if r, err := e.existingRun(ctx, req); r != nil || err != nil {
				return r, err
			}
		}
		return nil, fmt.Errorf("engine: creating run: %w", err)
	}
	return t.run, nil
}

func (e *Engine) createRun(ctx context.Context, db *ent.Client, pkg *ent.WorkflowPackage, req StartRequest, hash string) (*txn, error) {
	params := req.Params
	if params == nil {
		params = map[string]any{}
	}
	create := db.Run.Create()
	if req.Trigger != nil {
		create.SetTrigger(req.Trigger)
	}
	r, err := create.
		SetPackageID(pkg.ID).
		SetPackageVersion(pkg.Version).
		SetNillablePropertyID(req.PropertyID).
		SetNillableClientID(req.ClientID).
		SetParams(params).
		SetNillableIdempotencyKey(req.IdempotencyKey).
		SetRequestHash(hash).
		Save(ctx)
	if err != nil {
		return nil, err
	}
	// Created just now for the viewer's organization: its steps may point
	// at it without another lookup.
	tenant.RememberInOrg(ctx, r.ID)
	creates := make([]*ent.StepRunCreate, len(pkg.Edges.Steps))
	for i, ps := range pkg.Edges.Steps {
		creates[i] = db.StepRun.Create().
			SetRunID(r.ID).
			SetKey(ps.Key).
			SetName(ps.Name).
			SetKind(ps.Kind).
			SetDependsOn(ps.DependsOn).
			SetConfig(ps.Config).
			SetNillableMaxAttempts(ps.MaxAttempts).
			SetNillableTimeoutSeconds(ps.TimeoutSeconds).
			SetPosition(ps.Position)
	}
	steps, err := db.StepRun.CreateBulk(creates...).Save(ctx)
	if err != nil {
		return nil, err
	}
	// The new rows are not visible to anyone else yet: no lock or re-read.
	return e.apply(ctx, db, r, steps, func(t *txn) error {
		msg := fmt.Sprintf("run of %s v%d queued", pkg.Key, pkg.Version)
		t.emit(runevent.TypeRUN_QUEUED, nil, string(run.StatusQUEUED), 0, msg)
		return e.advance(t)
	})
}

// existingRun returns the run an idempotency key already started, or a
// CONFLICT when that run was started with a different request.
func (e *Engine) existingRun(ctx context.Context, req StartRequest) (*ent.Run, error) {
	r, err := e.client.Run.Query().Where(run.IdempotencyKey(*req.IdempotencyKey)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("engine: looking up idempotency key: %w", err)
	}
	hash, err := requestHash(req)
	if err != nil || hash != r.RequestHash {
		return nil, conflictError("input.idempotencyKey", "idempotencyKey %q was already used for a different request (run %d)", *req.IdempotencyKey, r.ID)
	}
	return r, nil
}

// checkStart validates the run's subject against the package's and hands
// the rest to the application's StartChecker.
func (e *Engine) checkStart(ctx context.Context, pkg *ent.WorkflowPackage, req StartRequest) error {
	want := SubjectType(pkg.Subject)
	var subject Subject
	switch want {
	case SubjectProperty:
		if req.PropertyID == nil {
			return inputError("input.propertyId", "this package works on a property: give propertyId")
		}
		if req.ClientID != nil {
			return inputError("input.clientId", "this package works on a property: leave clientId out")
		}
		subject = Subject{Type: SubjectProperty, ID: *req.PropertyID}
	case SubjectClient:
		if req.ClientID == nil {
			return inputError("input.clientId", "this package works on a client: give clientId")
		}
		if req.PropertyID != nil {
			return inputError("input.propertyId", "this package works on a client: leave propertyId out")
		}
		subject = Subject{Type: SubjectClient, ID: *req.ClientID}
	default:
		return fmt.Errorf("engine: package %d has an unknown subject %q", pkg.ID, pkg.Subject)
	}
	if e.cfg.CheckStart == nil {
		return nil
	}
	kinds := make([]string, len(pkg.Edges.Steps))
	for i, s := range pkg.Edges.Steps {
		kinds[i] = string(s.Kind)
	}
	return e.cfg.CheckStart(ctx, StartCheck{Subject: subject, Kinds: kinds, Params: req.Params})
}

func requestHash(req StartRequest) (string, error) {
	b, err := json.Marshal(struct {
		PackageID  int            `json:"p"`
		PropertyID *int           `json:"pr"`
		ClientID   *int           `json:"c"`
		Params     map[string]any `json:"x"` // encoding/json sorts map keys
	}{req.PackageID, req.PropertyID, req.ClientID, req.Params})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// CancelRun moves a run to CANCELING and interrupts its running steps;
// steps not yet started are canceled, and the run ends CANCELED once the
// running ones return. Canceling a finished run is a CONFLICT.
func (e *Engine) CancelRun(ctx context.Context, runID int) (*ent.Run, error) {
	t, err := e.inRun(ctx, runID, func(t *txn) error {
		switch t.run.Status {
		case run.StatusCANCELING:
			return errSkip
		case run.StatusSUCCEEDED, run.StatusFAILED, run.StatusCANCELED:
			return conflictError("id", "run %d has already finished (%s)", runID, t.run.Status)
		}
		t.updateRun().SetStatus(run.StatusCANCELING)
		t.run.Status = run.StatusCANCELING
		t.emit(runevent.TypeRUN_CANCELING, nil, string(run.StatusCANCELING), t.run.Progress, "cancel requested")
		t.cancel = true
		return e.advance(t)
	})
	if errors.Is(err, errSkip) {
		return e.client.Run.Get(ctx, runID)
	}
	if err != nil {
		return nil, err
	}
	return t.run, nil
}

// RetryRun re-executes a FAILED or CANCELED run's failed, skipped and
// canceled steps, keeping the outputs of the steps that succeeded. Attempt
// counters continue, and each retried step gets its attempts afresh.
func (e *Engine) RetryRun(ctx context.Context, runID int) (*ent.Run, error) {
	t, err := e.inRun(ctx, runID, func(t *txn) error {
		if t.run.Status != run.StatusFAILED && t.run.Status != run.StatusCANCELED {
			return conflictError("id", "only a FAILED or CANCELED run can be retried; run %d is %s", runID, t.run.Status)
		}
		retried := 0
		for i, s := range t.steps {
			switch s.Status {
			case steprun.StatusFAILED, steprun.StatusSKIPPED, steprun.StatusCANCELED:
				if err := t.setStep(i, func(u *ent.StepRunUpdate) *ent.StepRunUpdate {
					return u.SetStatus(steprun.StatusPENDING).SetAttemptBase(s.Attempt).SetProgress(0).
						SetMessage("").ClearError().ClearFinishedAt().ClearNextAttemptAt()
				}); err != nil {
					return err
				}
				retried++
			}
		}
		// A compacted run compacts again once it has finished anew.
		t.updateRun().SetStatus(run.StatusRUNNING).ClearError().ClearFinishedAt().ClearCompactedAt()
		t.run.Status = run.StatusRUNNING
		t.emit(runevent.TypeRUN_RETRIED, nil, string(run.StatusRUNNING), t.run.Progress,
			fmt.Sprintf("retrying %d steps", retried))
		return e.advance(t)
	})
	if err != nil {
		return nil, err
	}
	return t.run, nil
}
