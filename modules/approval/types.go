package approval

// Decisions an APPROVAL step's output records.
const (
	Approved     = "APPROVED"
	AutoApproved = "AUTO_APPROVED"
)

// Deadline actions.
const (
	// ActionFail fails the step, and so the run, when the deadline passes.
	ActionFail = "FAIL"
	// ActionAutoApprove approves with the default choice when it passes.
	ActionAutoApprove = "AUTO_APPROVE"
)

// ChoicePricingOption is the kind of option a listing strategy offers.
const ChoicePricingOption = "PRICING_OPTION"

// Request is what an APPROVAL step asks for while it waits; it is stored
// with the wait (StepRun.wait's detail).
type Request struct {
	// Review lists the dependencies whose outputs are to be approved.
	Review []string `json:"review"`
	// Options are what the approver may choose from; empty when the
	// dependencies offer none.
	Options []Option `json:"options"`
	// ApproverRoles and ApproverUserIDs say who may decide: a user with
	// one of the roles, or one of the users.
	ApproverRoles   []string `json:"approverRoles"`
	ApproverUserIDs []int    `json:"approverUserIds"`
	// Deadline is the wait's length ("72h0m0s"); empty without one.
	Deadline string `json:"deadline,omitempty"`
	// DeadlineAction is FAIL or AUTO_APPROVE; empty without a deadline.
	DeadlineAction string `json:"deadlineAction,omitempty"`
	// DefaultChoice is the option AUTO_APPROVE picks; empty when there are
	// no options.
	DefaultChoice string `json:"defaultChoice,omitempty"`
}

// Option is one choice an approver can make.
type Option struct {
	// Kind is what the option is: PRICING_OPTION.
	Kind string `json:"kind"`
	// Name is what approveStep's choice names (AT_MARKET).
	Name string `json:"name"`
	// Label is the option in words, with its figure.
	Label string `json:"label"`
	// Price is a pricing option's price.
	Price int `json:"price"`
	// Source is the step that offered it.
	Source string `json:"source"`
}

// Output is the APPROVAL step's output: the decision that let the run go
// on. A rejection fails the step instead, with the reason as its error.
type Output struct {
	// Decision is APPROVED (by a person) or AUTO_APPROVED (by the deadline).
	Decision string `json:"decision"`
	// Choice is the option chosen; nil when none was.
	Choice  *Option `json:"choice,omitempty"`
	Comment string  `json:"comment"`
	// DecidedBy names who decided: the user's email and role, or "the
	// deadline".
	DecidedBy       string `json:"decidedBy"`
	DecidedByUserID *int   `json:"decidedByUserId,omitempty"`
	// Reviewed lists the dependencies whose outputs were approved. When
	// the decision was made is the step's finishedAt.
	Reviewed []string `json:"reviewed"`
}

// IsStepOutput marks an Output as a step's typed output.
func (*Output) IsStepOutput() {}
