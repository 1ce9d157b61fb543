package report

import (
	"time"

	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/modules/marketing"
	"github.com/estateflow/estateflow/modules/spec"
	"github.com/estateflow/estateflow/modules/strategy"
)

// Report is everything a run's report says. Its JSON is the format=json
// report; IDs are strings, as the REST API sends them, and times are UTC.
type Report struct {
	Run         Run       `json:"run"`
	Steps       []Step    `json:"steps"`
	Effects     Effects   `json:"effects"`
	GeneratedAt time.Time `json:"generatedAt"`
}

// Run is the run itself: what started it, on what, and how it ended.
type Run struct {
	ID             string         `json:"id"`
	Package        Package        `json:"package"`
	Property       *Property      `json:"property"`
	Client         *Client        `json:"client"`
	Params         map[string]any `json:"params"`
	Status         string         `json:"status"`
	Progress       float64        `json:"progress"`
	IdempotencyKey *string        `json:"idempotencyKey"`
	Error          *string        `json:"error"`
	CreatedAt      time.Time      `json:"createdAt"`
	StartedAt      *time.Time     `json:"startedAt"`
	FinishedAt     *time.Time     `json:"finishedAt"`
}

// Package is the package the run was started from, at the version it ran.
type Package struct {
	ID      string `json:"id"`
	Key     string `json:"key"`
	Name    string `json:"name"`
	Version int    `json:"version"`
}

// Property is the run's subject when it is a property.
type Property struct {
	ID           string   `json:"id"`
	Address      string   `json:"address"`
	City         string   `json:"city"`
	State        string   `json:"state"`
	Zip          string   `json:"zip"`
	PropertyType string   `json:"propertyType"`
	Beds         *int     `json:"beds"`
	Baths        *float64 `json:"baths"`
	Sqft         *int     `json:"sqft"`
	YearBuilt    *int     `json:"yearBuilt"`
	ListPrice    *int     `json:"listPrice"`
	Status       string   `json:"status"`
}

// Client is the run's subject when it is a client. Contact details stay in
// the CRM: a report is handed over.
type Client struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Step is one step run: its state, its attempts and its typed output.
type Step struct {
	ID        string   `json:"id"`
	Key       string   `json:"key"`
	Name      string   `json:"name"`
	Kind      string   `json:"kind"`
	DependsOn []string `json:"dependsOn"`
	Position  int      `json:"position"`
	Status    string   `json:"status"`
	// Attempts is how many times the step was executed (retries included).
	Attempts   int        `json:"attempts"`
	Progress   float64    `json:"progress"`
	Message    string     `json:"message"`
	Error      *string    `json:"error"`
	StartedAt  *time.Time `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt"`
	// DurationSeconds is FinishedAt - StartedAt, when both are known.
	DurationSeconds *float64 `json:"durationSeconds"`
	// Summary is one line saying what the step produced, for people.
	Summary string `json:"summary"`
	// Output is the step's typed output (the type its module declares for
	// its kind), null until the step succeeds.
	Output spec.StepOutput `json:"output"`
}

// Effects are the records the run wrote besides its steps' outputs.
type Effects struct {
	ScheduledPosts []ScheduledPost `json:"scheduledPosts"`
	Emails         []Email         `json:"emails"`
	Tasks          []Task          `json:"tasks"`
	LeadScores     []LeadScore     `json:"leadScores"`
}

// ScheduledPost is a social post the run scheduled.
type ScheduledPost struct {
	ID          string    `json:"id"`
	StepKey     string    `json:"stepKey"`
	Platform    string    `json:"platform"`
	ScheduledAt time.Time `json:"scheduledAt"`
	Status      string    `json:"status"`
	Text        string    `json:"text"`
}

// Email is an email of a drip sequence the run scheduled.
type Email struct {
	ID          string    `json:"id"`
	StepKey     string    `json:"stepKey"`
	ClientID    string    `json:"clientId"`
	To          string    `json:"to"`
	Subject     string    `json:"subject"`
	Body        string    `json:"body"`
	ScheduledAt time.Time `json:"scheduledAt"`
	Status      string    `json:"status"`
}

// Task is a CRM follow-up task the run created.
type Task struct {
	ID       string    `json:"id"`
	StepKey  string    `json:"stepKey"`
	ClientID string    `json:"clientId"`
	Type     string    `json:"type"`
	Title    string    `json:"title"`
	Notes    string    `json:"notes"`
	DueAt    time.Time `json:"dueAt"`
	Status   string    `json:"status"`
}

// LeadScore is a lead-score record the run wrote.
type LeadScore struct {
	ID       string    `json:"id"`
	StepKey  string    `json:"stepKey"`
	ClientID string    `json:"clientId"`
	Score    int       `json:"score"`
	Tier     string    `json:"tier"`
	ScoredAt time.Time `json:"scoredAt"`
}

// CMA returns the first succeeded CMA step's report, if the run has one.
func (r *Report) CMA() (*analytics.Report, bool) {
	for _, s := range r.Steps {
		if out, ok := s.Output.(*analytics.Report); ok {
			return out, true
		}
	}
	return nil, false
}

// Strategy returns the first listing strategy output, if any.
func (r *Report) Strategy() (*strategy.ListingStrategy, bool) {
	for _, s := range r.Steps {
		if out, ok := s.Output.(*strategy.ListingStrategy); ok {
			return out, true
		}
	}
	return nil, false
}

// Campaign returns the first marketing campaign output, if any.
func (r *Report) Campaign() (*marketing.MarketingCampaign, bool) {
	for _, s := range r.Steps {
		if out, ok := s.Output.(*marketing.MarketingCampaign); ok {
			return out, true
		}
	}
	return nil, false
}
