package loadtest

import (
	"context"
	"testing"
	"time"
)

// TestRunBaseline checks that the trivial broadcaster delivers every
// message to every subscriber and that the client measures them all.
func TestRunBaseline(t *testing.T) {
	tests := []struct{ subscribers, runs, perRun int }{
		{1, 1, 1},
		{20, 5, 3},
		{50, 2, 9},
	}
	for _, tc := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		rep, err := RunBaseline(ctx, BaselineConfig{Subscribers: tc.subscribers, Runs: tc.runs, MessagesPerRun: tc.perRun, Settle: 30 * time.Second})
		cancel()
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		d := rep.Delivery
		want := int64(tc.subscribers * tc.runs * tc.perRun)
		if d.Messages != want || d.Latency.Count != uint64(want) {
			t.Errorf("%+v: %d messages, %d timed; want %d", tc, d.Messages, d.Latency.Count, want)
		}
		if d.Evaluated != tc.subscribers || d.Complete != tc.subscribers || d.ShareComplete != 1 {
			t.Errorf("%+v: %d of %d complete (share %v); want all %d", tc, d.Complete, d.Evaluated, d.ShareComplete, tc.subscribers)
		}
		if d.MessagesPerSec <= 0 || d.Latency.P99 < d.Latency.P50 || len(rep.Errors) != 0 {
			t.Errorf("%+v: messages/s %v, p50 %v, p99 %v, errors %v", tc, d.MessagesPerSec, d.Latency.P50, d.Latency.P99, rep.Errors)
		}
	}
}

// BenchmarkTrivialBroadcast is the ceiling of `estateflow loadtest
// --baseline` as a benchmark: 1,000 websockets, b.N runs of 9 messages
// each (a New Listing's runsUpdated volume), broadcast as fast as the
// sockets take them. Compare its messages/s and p99 with the server's
// from `estateflow loadtest --subscribers 1000 --runs-updated-share 1`.
func BenchmarkTrivialBroadcast(b *testing.B) {
	rep, err := RunBaseline(context.Background(), BaselineConfig{Subscribers: 1000, Runs: b.N, MessagesPerRun: 9, Settle: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(rep.Delivery.MessagesPerSec, "messages/s")
	b.ReportMetric(rep.Delivery.Latency.P50, "p50-ms")
	b.ReportMetric(rep.Delivery.Latency.P99, "p99-ms")
	b.ReportMetric(rep.Delivery.ShareComplete, "share-complete")
}
