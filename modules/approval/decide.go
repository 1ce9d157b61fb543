package approval

import (
	"fmt"
	"slices"
	"strings"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/internal/errcode"
)

// maxComment bounds a decision's comment.
const maxComment = 2000

// Decider is who decides.
type Decider struct {
	UserID int
	Role   string
	// Email names the user in the step's output and events.
	Email string
}

func (d Decider) name() string {
	if d.Email == "" {
		return fmt.Sprintf("user %d (%s)", d.UserID, d.Role)
	}
	return fmt.Sprintf("%s (%s)", d.Email, d.Role)
}

// Approve returns the decision function of approveStep: the decider must
// be allowed, and choice, when given, must name one of the options.
func Approve(who Decider, comment string, choice *string) func(engine.Awaiting) (engine.Decision, error) {
	return func(aw engine.Awaiting) (engine.Decision, error) {
		req, err := check(aw, who, comment)
		if err != nil {
			return engine.Decision{}, err
		}
		out := Output{Decision: Approved, Comment: strings.TrimSpace(comment), DecidedBy: who.name(), Reviewed: req.Review}
		if who.UserID > 0 {
			id := who.UserID
			out.DecidedByUserID = &id
		}
		if out.Reviewed == nil {
			out.Reviewed = []string{}
		}
		msg := "approved by " + who.name()
		if choice != nil {
			if len(req.Options) == 0 {
				return engine.Decision{}, refusal(errcode.BadUserInput, "choice", "step %q offers no options to choose from: leave choice out", aw.Step.StepKey)
			}
			o, ok := req.option(*choice)
			if !ok {
				return engine.Decision{}, refusal(errcode.BadUserInput, "choice", "choice %q is not one of the options: %s", *choice, strings.Join(req.optionNames(), ", "))
			}
			out.Choice = &o
			msg += "; choice " + o.Label
		}
		if out.Comment != "" {
			msg += ": " + out.Comment
		}
		return engine.Decision{Succeed: true, Output: out, Message: msg}, nil
	}
}

// Reject returns the decision function of rejectStep: the step fails with
// the reason, and so does the run.
func Reject(who Decider, reason string) func(engine.Awaiting) (engine.Decision, error) {
	return func(aw engine.Awaiting) (engine.Decision, error) {
		if _, err := check(aw, who, reason); err != nil {
			return engine.Decision{}, err
		}
		reason = strings.TrimSpace(reason)
		if reason == "" {
			return engine.Decision{}, refusal(errcode.BadUserInput, "comment", "a rejection needs a reason (comment)")
		}
		msg := fmt.Sprintf("rejected by %s: %s", who.name(), reason)
		return engine.Decision{Error: msg, Message: msg}, nil
	}
}

// check refuses a decision on a step that is not an approval, by someone
// not allowed, or with an overlong comment, and returns the request.
func check(aw engine.Awaiting, who Decider, comment string) (Request, error) {
	if aw.Step.Kind != string(stepkind.Approval) {
		return Request{}, refusal(errcode.Conflict, "stepKey", "step %q is a %s step, not an APPROVAL", aw.Step.StepKey, aw.Step.Kind)
	}
	req, err := requestOf(aw.Detail)
	if err != nil {
		return Request{}, err
	}
	if !slices.Contains(req.ApproverRoles, who.Role) && !slices.Contains(req.ApproverUserIDs, who.UserID) {
		return Request{}, refusal(errcode.Forbidden, "stepKey", "step %q may be decided only by %s", aw.Step.StepKey, approvers(req))
	}
	if len(comment) > maxComment {
		return Request{}, refusal(errcode.BadUserInput, "comment", "comment is %d characters; at most %d", len(comment), maxComment)
	}
	return req, nil
}

func approvers(req Request) string {
	var parts []string
	if len(req.ApproverRoles) > 0 {
		parts = append(parts, "the roles "+strings.Join(req.ApproverRoles, ", "))
	}
	if len(req.ApproverUserIDs) > 0 {
		parts = append(parts, fmt.Sprintf("the users %v", req.ApproverUserIDs))
	}
	return strings.Join(parts, " or ")
}

func refusal(code errcode.Code, field, format string, args ...any) *engine.Error {
	return &engine.Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}
