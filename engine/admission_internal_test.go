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
