package approval

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/user"
	"github.com/estateflow/estateflow/internal/numfmt"
	"github.com/estateflow/estateflow/modules/spec"
	"github.com/estateflow/estateflow/modules/strategy"
)

// Module describes the APPROVAL step kind.
func Module() spec.Module {
	return spec.Module{
		Name: "approval",
		Kinds: []spec.StepKind{{
			Kind:        stepkind.Approval,
			AnySubject:  true,
			CheckConfig: func(c map[string]any) error { _, err := ParseConfig(c); return err },
			NewOutput:   func() spec.StepOutput { return &Output{} },
			NewExecutor: func(d spec.Deps) engine.Executor { return Executor{Client: d.Client} },
		}},
	}
}

// Executor runs APPROVAL: it builds the request from the step's config and
// its dependencies' outputs, and returns the wait.
type Executor struct {
	Client *ent.Client
}

// Execute implements engine.Executor.
func (x Executor) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	cfg, err := ParseConfig(sc.Config)
	if err != nil {
		return nil, engine.Permanent(err)
	}
	if len(cfg.ApproverUserIDs) > 0 {
		// The IDs must be users of the run's organization (the client is
		// scoped to it): an approval nobody can give would only time out.
		n, err := x.Client.User.Query().Where(user.IDIn(cfg.ApproverUserIDs...)).Count(ctx)
		if err != nil {
			return nil, err
		}
		if n != len(cfg.ApproverUserIDs) {
			return nil, engine.Permanent(configError("approverUserIds", "%v are not all users of this organization", cfg.ApproverUserIDs))
		}
	}
	req, err := buildRequest(cfg, sc.Inputs)
	if err != nil {
		return nil, engine.Permanent(err)
	}
	w := engine.Wait{Detail: req, After: cfg.Deadline, Message: waitMessage(req)}
	if cfg.Deadline > 0 {
		w.OnDeadline = deadlineDecision(req)
	}
	return w, nil
}

// buildRequest lists what is to be approved and the options the
// dependencies offer: a listing strategy's pricing options.
func buildRequest(cfg Config, inputs map[string]map[string]any) (Request, error) {
	req := Request{Options: []Option{}, ApproverRoles: cfg.ApproverRoles, ApproverUserIDs: cfg.ApproverUserIDs,
		DeadlineAction: cfg.DeadlineAction}
	if req.ApproverUserIDs == nil {
		req.ApproverUserIDs = []int{}
	}
	if req.ApproverRoles == nil {
		req.ApproverRoles = []string{}
	}
	for key := range inputs {
		req.Review = append(req.Review, key)
	}
	slices.Sort(req.Review)
	for _, key := range req.Review {
		if _, ok := inputs[key]["pricingOptions"]; !ok {
			continue
		}
		var s strategy.ListingStrategy
		if err := spec.DecodeInput(map[string]map[string]any{key: inputs[key]}, "pricingOptions", &s); err != nil {
			return req, err
		}
		for _, p := range s.PricingOptions {
			req.Options = append(req.Options, Option{Kind: ChoicePricingOption, Name: p.Name, Price: p.Price, Source: key,
				Label: fmt.Sprintf("%s: $%s", words(p.Name), numfmt.Thousands(p.Price))})
		}
	}
	if cfg.Deadline > 0 {
		req.Deadline = cfg.Deadline.String()
	}
	switch {
	case cfg.DefaultChoice != "":
		if len(req.Options) == 0 {
			return req, configError("defaultChoice", "the step's dependencies offer no options to choose from")
		}
		if _, ok := req.option(cfg.DefaultChoice); !ok {
			return req, configError("defaultChoice", "%q is not one of the options (%s)", cfg.DefaultChoice, strings.Join(req.optionNames(), ", "))
		}
		req.DefaultChoice = cfg.DefaultChoice
	case len(req.Options) > 0:
		// The CMA's value: the option a campaign advertises when nobody
		// chose (marketing.BuildCampaign).
		if _, ok := req.option("AT_MARKET"); ok {
			req.DefaultChoice = "AT_MARKET"
		} else if cfg.DeadlineAction == ActionAutoApprove {
			return req, configError("defaultChoice", "AUTO_APPROVE needs a defaultChoice among the options (%s)", strings.Join(req.optionNames(), ", "))
		}
	}
	return req, nil
}

func (r Request) option(name string) (Option, bool) {
	for _, o := range r.Options {
		if o.Name == name {
			return o, true
		}
	}
	return Option{}, false
}

func (r Request) optionNames() []string {
	names := make([]string, len(r.Options))
	for i, o := range r.Options {
		names[i] = o.Name
	}
	return names
}

// deadlineDecision is what happens when the deadline passes.
func deadlineDecision(req Request) engine.Decision {
	if req.DeadlineAction == ActionAutoApprove {
		out := Output{Decision: AutoApproved, DecidedBy: "the deadline", Reviewed: req.Review,
			Comment: fmt.Sprintf("approved automatically: no decision within %s", req.Deadline)}
		msg := "approved automatically when the deadline passed"
		if o, ok := req.option(req.DefaultChoice); ok {
			out.Choice = &o
			msg += fmt.Sprintf("; choice %s (the default)", o.Label)
		}
		return engine.Decision{Succeed: true, Output: out, Message: msg}
	}
	reason := fmt.Sprintf("no decision within the deadline (%s): the approval failed", req.Deadline)
	return engine.Decision{Error: reason, Message: "deadline passed without a decision"}
}

// waitMessage says what the step waits for, in one line.
func waitMessage(req Request) string {
	who := strings.Join(lower(req.ApproverRoles), " or ")
	if len(req.ApproverUserIDs) > 0 {
		ids := make([]string, len(req.ApproverUserIDs))
		for i, id := range req.ApproverUserIDs {
			ids[i] = fmt.Sprint(id)
		}
		if who != "" {
			who += " or "
		}
		who += "user " + strings.Join(ids, ", ")
	}
	msg := "awaiting approval by " + who
	if len(req.Review) > 0 {
		msg += " of " + strings.Join(req.Review, ", ")
	}
	if len(req.Options) > 0 {
		msg += fmt.Sprintf(" (%d options)", len(req.Options))
	}
	if req.Deadline != "" {
		msg += fmt.Sprintf("; deadline %s, then %s", req.Deadline, strings.ToLower(strings.ReplaceAll(req.DeadlineAction, "_", "-")))
	}
	return msg
}

func lower(roles []string) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = strings.ToLower(r) + "s"
	}
	return out
}

// words turns AT_MARKET into "At market".
func words(enum string) string {
	s := strings.ToLower(strings.ReplaceAll(enum, "_", " "))
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
