package approval

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/internal/errcode"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		raw     map[string]any
		want    Config
		errKey  string
		errText string
	}{
		{name: "defaults", raw: nil, want: Config{ApproverRoles: []string{"ADMIN", "AGENT"}}},
		{name: "days and auto-approve", raw: map[string]any{"deadline": "3d", "deadlineAction": "AUTO_APPROVE", "defaultChoice": "BELOW_MARKET"},
			want: Config{ApproverRoles: []string{"ADMIN", "AGENT"}, Deadline: 72 * time.Hour, DeadlineAction: ActionAutoApprove, DefaultChoice: "BELOW_MARKET"}},
		{name: "a deadline fails by default", raw: map[string]any{"deadline": "90m"},
			want: Config{ApproverRoles: []string{"ADMIN", "AGENT"}, Deadline: 90 * time.Minute, DeadlineAction: ActionFail}},
		{name: "users only", raw: map[string]any{"approverUserIds": []any{float64(7), "8"}}, want: Config{ApproverUserIDs: []int{7, 8}}},
		{name: "unknown key", raw: map[string]any{"approvers": []any{}}, errKey: "approvers"},
		{name: "unknown role", raw: map[string]any{"approverRoles": []any{"OWNER"}}, errKey: "approverRoles"},
		{name: "bad user", raw: map[string]any{"approverUserIds": []any{1.5}}, errKey: "approverUserIds"},
		{name: "not a duration", raw: map[string]any{"deadline": "soon"}, errKey: "deadline"},
		{name: "too short", raw: map[string]any{"deadline": "10s"}, errKey: "deadline", errText: "out of range"},
		{name: "too long", raw: map[string]any{"deadline": "91d"}, errKey: "deadline", errText: "out of range"},
		{name: "action without deadline", raw: map[string]any{"deadlineAction": "FAIL"}, errKey: "deadlineAction"},
		{name: "unknown action", raw: map[string]any{"deadline": "1d", "deadlineAction": "ESCALATE"}, errKey: "deadlineAction"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseConfig(tc.raw)
			if tc.errKey != "" {
				var ce *ConfigError
				if !errors.As(err, &ce) || ce.Key != tc.errKey || !strings.Contains(ce.Message, tc.errText) {
					t.Fatalf("error %v, want one on %s containing %q", err, tc.errKey, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got.ApproverRoles, ",") != strings.Join(tc.want.ApproverRoles, ",") || len(got.ApproverUserIDs) != len(tc.want.ApproverUserIDs) ||
				got.Deadline != tc.want.Deadline || got.DeadlineAction != tc.want.DeadlineAction || got.DefaultChoice != tc.want.DefaultChoice {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// strategyInputs are a strategy step's output with three pricing options.
var strategyInputs = map[string]map[string]any{"strategy": {"pricingOptions": []any{
	map[string]any{"name": "BELOW_MARKET", "price": 430000.0},
	map[string]any{"name": "AT_MARKET", "price": 450000.0},
	map[string]any{"name": "ASPIRATIONAL", "price": 475000.0},
}}}

func awaiting(t *testing.T, cfg Config) engine.Awaiting {
	t.Helper()
	req, err := buildRequest(cfg, strategyInputs)
	if err != nil {
		t.Fatal(err)
	}
	w := map[string]any{}
	for k, v := range map[string]any{"review": req.Review, "options": req.Options, "approverRoles": req.ApproverRoles,
		"approverUserIds": req.ApproverUserIDs, "defaultChoice": req.DefaultChoice} {
		w[k] = v
	}
	return engine.Awaiting{Step: &engine.StepContext{StepKey: "approval", Kind: "APPROVAL", Inputs: strategyInputs}, Detail: w, Now: time.Now()}
}

func TestDecisions(t *testing.T) {
	choice := func(s string) *string { return &s }
	admin := Decider{UserID: 1, Role: "ADMIN", Email: "boss@example.com"}
	agent := Decider{UserID: 2, Role: "AGENT", Email: "ana@example.com"}
	adminsOnly := Config{ApproverRoles: []string{"ADMIN"}}
	tests := []struct {
		name      string
		decide    func(engine.Awaiting) (engine.Decision, error)
		code      errcode.Code
		field     string
		succeed   bool
		wantPrice int
		message   string
	}{
		{name: "approve with a choice", decide: Approve(admin, "ok", choice("ASPIRATIONAL")), succeed: true, wantPrice: 475000,
			message: "approved by boss@example.com (ADMIN); choice Aspirational: $475,000: ok"},
		{name: "approve without a choice", decide: Approve(admin, "", nil), succeed: true, message: "approved by boss@example.com (ADMIN)"},
		{name: "a choice that is no option", decide: Approve(admin, "", choice("FREE")), code: errcode.BadUserInput, field: "choice"},
		{name: "a role not allowed", decide: Approve(agent, "", nil), code: errcode.Forbidden, field: "stepKey"},
		{name: "reject", decide: Reject(admin, " Photos are not ready "), message: "rejected by boss@example.com (ADMIN): Photos are not ready"},
		{name: "reject without a reason", decide: Reject(admin, " "), code: errcode.BadUserInput, field: "comment"},
		{name: "overlong comment", decide: Approve(admin, strings.Repeat("x", maxComment+1), nil), code: errcode.BadUserInput, field: "comment"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.decide(awaiting(t, adminsOnly))
			if tc.code != "" {
				var refusal *engine.Error
				if !errors.As(err, &refusal) || refusal.Code != tc.code || refusal.Field != tc.field {
					t.Fatalf("%v, want %s on %s", err, tc.code, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Succeed != tc.succeed || d.Message != tc.message {
				t.Fatalf("decision %+v", d)
			}
			if tc.wantPrice > 0 {
				out := d.Output.(Output)
				if out.Choice == nil || out.Choice.Price != tc.wantPrice || out.Decision != Approved {
					t.Fatalf("output %+v", out)
				}
			}
		})
	}
}

func TestDeadlineDecision(t *testing.T) {
	req, err := buildRequest(Config{ApproverRoles: []string{"ADMIN"}, Deadline: 48 * time.Hour, DeadlineAction: ActionAutoApprove}, strategyInputs)
	if err != nil {
		t.Fatal(err)
	}
	d := deadlineDecision(req)
	out := d.Output.(Output)
	if !d.Succeed || out.Decision != AutoApproved || out.Choice == nil || out.Choice.Name != "AT_MARKET" || out.Choice.Price != 450000 {
		t.Fatalf("auto-approval %+v", d)
	}
	req.DeadlineAction = ActionFail
	if d := deadlineDecision(req); d.Succeed || !strings.Contains(d.Error, "no decision within the deadline (48h0m0s)") {
		t.Fatalf("fail %+v", d)
	}
	if _, err := buildRequest(Config{DefaultChoice: "CHEAP"}, strategyInputs); err == nil {
		t.Fatal("a default choice that is no option was accepted")
	}
}
