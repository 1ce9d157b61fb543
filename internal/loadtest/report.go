package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Report is what a load test measured. Rates are per second of the
// phase they belong to; latencies are in milliseconds.
type Report struct {
	// Target is the server's URL, or "trivial broadcaster" for a baseline.
	Target  string `json:"target"`
	Via     string `json:"via,omitempty"`
	Package string `json:"package,omitempty"`
	// LoadSeconds is how long runs were started; DrainSeconds how long the
	// test then waited for them to finish.
	LoadSeconds  float64 `json:"load_s"`
	DrainSeconds float64 `json:"drain_s"`
	// Interrupted is set when the test was stopped (a signal) before its end.
	Interrupted  bool             `json:"interrupted,omitempty"`
	Runs         RunStats         `json:"runs"`
	StartLatency Percentiles      `json:"start_latency"`
	Queries      *QueryStats      `json:"queries,omitempty"`
	Delivery     DeliveryStats    `json:"delivery"`
	Errors       map[string]int64 `json:"errors"`
	// ErrorSamples holds the first message of each error code.
	ErrorSamples map[string]string `json:"error_samples,omitempty"`
	Server       *ServerStats      `json:"server,omitempty"`
	// Baseline is the trivial broadcaster's report, with --baseline, and
	// Ratios compare the server's delivery to it.
	Baseline *Report `json:"baseline,omitempty"`
	Ratios   *Ratios `json:"ratios,omitempty"`
}

// RunStats counts the runs the test started.
type RunStats struct {
	Started   int `json:"started"`
	Completed int `json:"completed"` // finished: succeeded, failed or canceled
	Succeeded int `json:"succeeded"`
	Failed    int `json:"failed"`
	Canceled  int `json:"canceled"`
	// Unfinished runs had not finished when the drain ended.
	Unfinished int `json:"unfinished"`
	// Behind counts the rate's ticks skipped because every starter was
	// busy (--rate only).
	Behind int64 `json:"behind,omitempty"`
	// BackedOff counts refused starts after which the starter waited the
	// Retry-After the server gave, as a client should.
	BackedOff int64 `json:"backed_off,omitempty"`
	// StartedPerSec is Started over the load phase. CompletedPerSec is
	// Completed over the span from the first run's creation to the last
	// one's end, both by the server's clock.
	StartedPerSec   float64 `json:"started_per_s"`
	CompletedPerSec float64 `json:"completed_per_s"`
}

// QueryStats are the list queries mixed into the load.
type QueryStats struct {
	Count   int64       `json:"count"`
	PerSec  float64     `json:"per_s"`
	Latency Percentiles `json:"latency"`
}

// DeliveryStats are what the subscribers received.
type DeliveryStats struct {
	Subscribers int `json:"subscribers"`
	RunsUpdated int `json:"runs_updated_subscribers"`
	RunEvents   int `json:"run_events_subscribers"`
	// ConnectedAtEnd is how many websockets were open when the test ended.
	ConnectedAtEnd int64 `json:"connected_at_end"`
	// Messages is every result received; MessagesPerSec divides it by the
	// time from the load's start to the last arrival.
	Messages       int64   `json:"messages"`
	MessagesPerSec float64 `json:"messages_per_s"`
	// Latency is from each event's commit to its arrival (replays of
	// events committed before a runEvents subscription are left out).
	Latency Percentiles `json:"latency"`
	// Evaluated subscribers had something to get (a runEvents watcher
	// that followed a run to its end; a runsUpdated listener, once any
	// started run finished); Complete of them got every event, and
	// ShareComplete is Complete / Evaluated (0 when none was evaluated).
	Evaluated           int     `json:"evaluated"`
	Complete            int     `json:"complete"`
	ShareComplete       float64 `json:"share_complete"`
	RunsUpdatedComplete int     `json:"runs_updated_complete"`
	RunEventsComplete   int     `json:"run_events_complete"`
	// RunsFollowed counts the runs watchers followed to their end;
	// RunsSkipped the runs handed to a watcher whose queue was full.
	RunsFollowed int64 `json:"runs_followed"`
	RunsSkipped  int64 `json:"runs_skipped"`
	Reconnects   int64 `json:"reconnects"`
}

// ServerStats are read from the server's /metrics before the subscribers
// connect and after the drain, while they are still connected.
type ServerStats struct {
	RSSBeforeBytes float64 `json:"rss_before_bytes"`
	// RSSConnectedBytes is read once every subscriber has connected and
	// subscribed, before the load (0 without subscribers): less
	// RSSBeforeBytes, it is what idle subscribers hold.
	RSSConnectedBytes float64 `json:"rss_connected_bytes,omitempty"`
	RSSAfterBytes     float64 `json:"rss_after_bytes"`
	// CPUSeconds is the server's CPU time between the two readings;
	// CPUPercent divides it by the time between them (100 is one core).
	CPUSeconds float64 `json:"cpu_s"`
	CPUPercent float64 `json:"cpu_percent"`
	// Error says why the metrics could not be read (then the rest is 0).
	Error string `json:"error,omitempty"`
	// Memory is sampled during the load phase.
	Memory *MemoryStats `json:"memory,omitempty"`
}

// MemoryStats say whether the server's memory stayed flat during the load
// once the warm-up was over: its RSS and Go heap in use at the first
// sample after the warm-up, at the last sample of the load, and at their
// highest in between.
type MemoryStats struct {
	WarmupSeconds          float64 `json:"warmup_s"`
	RSSAtWarmupBytes       float64 `json:"rss_at_warmup_bytes"`
	RSSAtEndBytes          float64 `json:"rss_at_end_bytes"`
	RSSMaxBytes            float64 `json:"rss_max_bytes"`
	RSSGrowthPercent       float64 `json:"rss_growth_percent"`
	RSSMaxGrowthPercent    float64 `json:"rss_max_growth_percent"`
	HeapInuseAtWarmupBytes float64 `json:"heap_inuse_at_warmup_bytes"`
	HeapInuseAtEndBytes    float64 `json:"heap_inuse_at_end_bytes"`
	HeapInuseMaxBytes      float64 `json:"heap_inuse_max_bytes"`
	// Samples are every reading, from the start of the load.
	Samples []MemorySample `json:"samples"`
}

// MemorySample is one reading of the server's memory.
type MemorySample struct {
	AtSeconds      float64 `json:"at_s"`
	RSSBytes       float64 `json:"rss_bytes"`
	HeapInuseBytes float64 `json:"heap_inuse_bytes"`
}

// Ratios compare the server to the trivial broadcaster.
type Ratios struct {
	// MessagesPerSec is the server's messages/s over the broadcaster's
	// (1 is the ceiling).
	MessagesPerSec float64 `json:"messages_per_s"`
	// DeliveryP50 and DeliveryP99 are the server's latencies over the
	// broadcaster's (1 is the floor).
	DeliveryP50 float64 `json:"delivery_p50"`
	DeliveryP99 float64 `json:"delivery_p99"`
}

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for a reader.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	r.text(&b)
	if r.Baseline != nil {
		b.WriteString("\n")
		r.Baseline.text(&b)
	}
	if r.Ratios != nil {
		fmt.Fprintf(&b, "\nserver / trivial broadcaster: messages/s %.2f, delivery p50 %.2f×, p99 %.2f×\n",
			r.Ratios.MessagesPerSec, r.Ratios.DeliveryP50, r.Ratios.DeliveryP99)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) text(b *strings.Builder) {
	pct := func(p Percentiles) string {
		if p.Count == 0 {
			return "none measured"
		}
		return fmt.Sprintf("p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms (%d)", p.P50, p.P95, p.P99, p.Max, p.Count)
	}
	fmt.Fprintf(b, "Load test of %s", r.Target)
	if r.Package != "" {
		fmt.Fprintf(b, ": %s runs started through %s", r.Package, r.Via)
	}
	fmt.Fprintf(b, "; load %.1f s, drain %.1f s", r.LoadSeconds, r.DrainSeconds)
	if r.Interrupted {
		b.WriteString(" (interrupted)")
	}
	b.WriteString("\n")
	ru := r.Runs
	fmt.Fprintf(b, "  runs:        %d started (%.1f/s), %d completed (%.1f/s): %d succeeded, %d failed, %d canceled; %d unfinished",
		ru.Started, ru.StartedPerSec, ru.Completed, ru.CompletedPerSec, ru.Succeeded, ru.Failed, ru.Canceled, ru.Unfinished)
	if ru.Behind > 0 {
		fmt.Fprintf(b, "; %d starts behind the rate", ru.Behind)
	}
	if ru.BackedOff > 0 {
		fmt.Fprintf(b, "; %d refusals waited out (Retry-After)", ru.BackedOff)
	}
	b.WriteString("\n")
	fmt.Fprintf(b, "  start:       %s\n", pct(r.StartLatency))
	if q := r.Queries; q != nil {
		fmt.Fprintf(b, "  queries:     %d (%.1f/s), %s\n", q.Count, q.PerSec, pct(q.Latency))
	}
	d := r.Delivery
	fmt.Fprintf(b, "  subscribers: %d (%d runsUpdated, %d runEvents), %d connected at the end, %d reconnections\n",
		d.Subscribers, d.RunsUpdated, d.RunEvents, d.ConnectedAtEnd, d.Reconnects)
	fmt.Fprintf(b, "  delivery:    %d messages (%.0f/s), %s\n", d.Messages, d.MessagesPerSec, pct(d.Latency))
	share := "n/a (no subscriber had a finished run to get)"
	if d.Evaluated > 0 {
		share = fmt.Sprintf("%.3f (%d of %d: %d runsUpdated, %d runEvents)", d.ShareComplete, d.Complete, d.Evaluated, d.RunsUpdatedComplete, d.RunEventsComplete)
	}
	fmt.Fprintf(b, "  every event: %s; %d runs followed, %d not handed to a busy watcher\n", share, d.RunsFollowed, d.RunsSkipped)
	if len(r.Errors) == 0 {
		b.WriteString("  errors:      none\n")
	} else {
		codes := make([]string, 0, len(r.Errors))
		for c := range r.Errors {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		b.WriteString("  errors:\n")
		for _, c := range codes {
			fmt.Fprintf(b, "    %-28s %d   e.g. %s\n", c, r.Errors[c], r.ErrorSamples[c])
		}
	}
	if s := r.Server; s != nil {
		if s.Error != "" {
			fmt.Fprintf(b, "  server:      metrics not read: %s\n", s.Error)
		} else {
			fmt.Fprintf(b, "  server:      RSS %.1f MB before, %.1f MB after; CPU %.1f s (%.0f%% of one core)\n",
				s.RSSBeforeBytes/(1<<20), s.RSSAfterBytes/(1<<20), s.CPUSeconds, s.CPUPercent)
			if n := r.Delivery.Subscribers; n > 0 && s.RSSConnectedBytes > 0 {
				fmt.Fprintf(b, "  per subscriber: %.1f KB idle (RSS %.1f MB once all were connected), %.1f KB after the load\n",
					(s.RSSConnectedBytes-s.RSSBeforeBytes)/1000/float64(n), s.RSSConnectedBytes/(1<<20), (s.RSSAfterBytes-s.RSSBeforeBytes)/1000/float64(n))
			}
		}
		if m := s.Memory; m != nil && m.RSSAtWarmupBytes > 0 {
			fmt.Fprintf(b, "  memory:      after the %.0f s warm-up, RSS %.1f MB → %.1f MB at the load's end (%+.1f%%), highest %.1f MB (%+.1f%%); Go heap in use %.1f → %.1f MB, highest %.1f MB (%d samples)\n",
				m.WarmupSeconds, m.RSSAtWarmupBytes/(1<<20), m.RSSAtEndBytes/(1<<20), m.RSSGrowthPercent, m.RSSMaxBytes/(1<<20), m.RSSMaxGrowthPercent,
				m.HeapInuseAtWarmupBytes/(1<<20), m.HeapInuseAtEndBytes/(1<<20), m.HeapInuseMaxBytes/(1<<20), len(m.Samples))
		}
	}
}
