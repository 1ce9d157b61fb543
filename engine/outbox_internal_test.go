package engine

import (
	"testing"
	"time"
)

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
