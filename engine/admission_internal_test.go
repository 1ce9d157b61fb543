package engine

import (
	"testing"
	"time"
)

func TestAdmissionRetryAfter(t *testing.T) {
	tests := []struct {
		name    string
		maxWait time.Duration
		st      AdmissionState
		want    time.Duration
	}{
		// No run finished yet: come back soon, not after the whole bound.
		{"unknown rate", 30 * time.Second, AdmissionState{InFlight: 200, OrgInFlight: 200, Orgs: 1, Budget: 128}, 2 * time.Second},
		{"unknown rate, short bound", 1500 * time.Millisecond, AdmissionState{InFlight: 10, OrgInFlight: 10, Orgs: 1, Budget: 6}, 2 * time.Second},
		{"unknown rate, tiny bound", 100 * time.Millisecond, AdmissionState{InFlight: 10, OrgInFlight: 10, Orgs: 1, Budget: 6}, time.Second},
		// 73 over the budget (+1) at 10 runs/s: 8 s.
		{"excess over the rate", 30 * time.Second, AdmissionState{InFlight: 373, OrgInFlight: 373, Orgs: 1, Rate: 10, Budget: 300}, 8 * time.Second},
		{"at least a second", 30 * time.Second, AdmissionState{InFlight: 300, OrgInFlight: 300, Orgs: 1, Rate: 50, Budget: 300}, time.Second},
		{"at most the bound", 30 * time.Second, AdmissionState{InFlight: 1000, OrgInFlight: 1000, Orgs: 1, Rate: 1, Budget: 128}, 30 * time.Second},
		// The organization's excess over its share, when that is smaller.
		{"share", 30 * time.Second, AdmissionState{InFlight: 500, OrgInFlight: 120, Orgs: 4, Rate: 10, Budget: 400}, 3 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAdmission(tc.maxWait, 6)
			if got := a.retryAfter(tc.st); got != tc.want {
				t.Fatalf("retryAfter = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestOutboxJobTimeoutFollowsTheTopics: an outbox job on River is bounded
// by the topics' timeouts, which is also how long River waits before it
// rescues the job of a dead process; the steps' default timeout (minutes)
// does not stretch it.
func TestOutboxJobTimeoutFollowsTheTopics(t *testing.T) {
	tests := []struct {
		name     string
		timeouts []time.Duration // of the topics; 0 takes the default
		want     time.Duration
	}{
		{"short topics", []time.Duration{30 * time.Second, 20 * time.Second}, 30*time.Second + jobTimeoutMargin},
		{"a topic without its own timeout", []time.Duration{30 * time.Second, 0}, 5*time.Minute + jobTimeoutMargin},
		{"no topics", nil, jobTimeoutMargin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &Engine{cfg: Config{DefaultTimeout: 5 * time.Minute, DefaultMaxAttempts: 3, BackoffBase: time.Second, BackoffMax: time.Minute},
				topics: map[string]OutboxTopic{}}
			for i, d := range tc.timeouts {
				e.HandleTopic(string(rune('a'+i)), OutboxTopic{Timeout: d})
			}
			if got := (&outboxWorker{e: e}).Timeout(nil); got != tc.want {
				t.Fatalf("outbox job timeout %v, want %v", got, tc.want)
			}
		})
	}
}
