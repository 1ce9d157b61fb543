// Package schedulespec holds the typed values a Schedule stores as JSON:
// the record filter that chooses what each occurrence runs on, and the
// outcome of the last occurrence. Like stepkind it lives beside the ent
// schema because ent and GraphQL both bind to these Go types.
package schedulespec

import "time"

// Filter chooses the records an occurrence starts one run for. It is a small
// typed filter, not free SQL: the fields of the package's subject apply, and
// a field of the other subject is refused when the schedule is saved. Empty
// lists mean "any"; every set field must hold (AND).
type Filter struct {
	// PastClients keeps the clients with at least one CLOSED transaction.
	PastClients bool `json:"pastClients,omitempty"`
	// ClientStages keeps the clients at one of these stages (LEAD,
	// PROSPECT, ACTIVE, PAST_CLIENT).
	ClientStages []string `json:"clientStages,omitempty"`
	// PropertyStatuses keeps the properties with one of these statuses
	// (ACTIVE, PENDING, SOLD, OFF_MARKET).
	PropertyStatuses []string `json:"propertyStatuses,omitempty"`
	// Zips keeps the properties in one of these ZIP codes.
	Zips []string `json:"zips,omitempty"`
}

// Outcome is what the last occurrence of a schedule did.
type Outcome struct {
	// OccurrenceAt is the occurrence's scheduled time.
	OccurrenceAt time.Time `json:"occurrenceAt"`
	// FiredAt is when the occurrence's runs were started; nil when the
	// occurrence was missed and, by the policy, not run.
	FiredAt *time.Time `json:"firedAt,omitempty"`
	// Matched counts the records the filter chose.
	Matched int `json:"matched"`
	// RunsStarted counts the runs of the occurrence (a repeated fire finds
	// the same runs by their idempotency keys and counts them once).
	RunsStarted int `json:"runsStarted"`
	// Errors are the records whose run could not be started, and why.
	Errors []string `json:"errors"`
	// SkippedOccurrences counts the occurrences before this one that were
	// missed (the server was down or the schedule paused) and not run, by
	// the missed-occurrence policy.
	SkippedOccurrences int `json:"skippedOccurrences"`
}
