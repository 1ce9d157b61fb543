package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/internal/cli"
)

// scrape is one parsed /metrics response.
type scrape map[string]*dto.MetricFamily

func scrapeMetrics(t *testing.T, url, token string) scrape {
	t.Helper()
	status, header, body := send(t, http.MethodGet, url, token, nil, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, status, body)
	}
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET %s: Content-Type %q", url, ct)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	return families
}

// metric returns the series of a family whose labels include want, or nil.
func (s scrape) metric(name string, want map[string]string) *dto.Metric {
	f := s[name]
	if f == nil {
		return nil
	}
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := len(labels) == len(want)
		for k, v := range want {
			match = match && labels[k] == v
		}
		if match {
			return m
		}
	}
	return nil
}

// value is a counter's or gauge's value, and -1 for a missing series.
func (s scrape) value(name string, labels map[string]string) float64 {
	m := s.metric(name, labels)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return -1
}

// histogram is a histogram's sample count and sum; count -1 for a missing
// series.
func (s scrape) histogram(name string, labels map[string]string) (count int64, sum float64) {
	m := s.metric(name, labels)
	if m == nil || m.Histogram == nil {
		return -1, 0
	}
	return int64(m.Histogram.GetSampleCount()), m.Histogram.GetSampleSum()
}

// TestMetricsAfterKnownRuns runs New Listing four times (three succeed, one
// of them after its campaign step timed out once; the fourth fails for good
// in its social step), then checks what /metrics says, exactly.
func TestMetricsAfterKnownRuns(t *testing.T) {
	t.Parallel()
	const attemptTimeout = 300 * time.Millisecond
	done := engine.ExecutorFunc(func(context.Context, *engine.StepContext) (any, error) { return map[string]any{"ok": true}, nil })
	campaign := engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		if sc.Params["hang"] == true && sc.Attempt == 1 {
			<-ctx.Done() // outlives the attempt's timeout
			return nil, ctx.Err()
		}
		return map[string]any{"ok": true}, nil
	})
	social := engine.ExecutorFunc(func(_ context.Context, sc *engine.StepContext) (any, error) {
		if sc.Params["fail"] == true {
			return nil, engine.Permanent(errors.New("the social network refused the post"))
		}
		return map[string]any{"ok": true}, nil
	})
	api := newTestAPI(t, testOptions{
		executors: executorsOf(map[stepkind.Kind]engine.Executor{
			stepkind.CMAAnalysis: done, stepkind.ListingStrategy: done, stepkind.MarketingCampaign: campaign, stepkind.SocialScheduling: social,
		}),
		config: func(c *Config) {
			testEngine := c.tests.engine
			c.tests.engine = func(ec *engine.Config) {
				testEngine(ec)
				ec.DefaultTimeout = attemptTimeout
			}
		},
	})
	propertyID, packageID := api.newListingPackage(t)

	const start = `mutation StartRun($in: StartRunInput!) { startRun(input: $in) { id } }`
	for i, params := range []map[string]any{{}, {"hang": true}, {}, {"fail": true}} {
		var out struct{ StartRun struct{ ID string } }
		api.do(start, map[string]any{"in": map[string]any{"packageId": packageID, "propertyId": propertyID, "params": params}}).ok(t, &out)
		want := "SUCCEEDED"
		if i == 3 {
			want = "FAILED"
		}
		if r := api.waitRun(t, mustInt(t, out.StartRun.ID)); string(r.Status) != want {
			t.Fatalf("run %d: %s, want %s", i, r.Status, want)
		}
	}

	// The metrics follow each commit; wait until the last run's end is
	// counted, then everything else must be exact.
	url := api.srv.URL + MetricsPath
	var s scrape
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		s = scrapeMetrics(t, url, "")
		if s.value("estateflow_runs_finished_total", map[string]string{"package": "new-listing", "status": "FAILED"}) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the failed run was never counted")
		}
	}
	counters := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"estateflow_runs_started_total", map[string]string{"package": "new-listing"}, 4},
		{"estateflow_runs_finished_total", map[string]string{"package": "new-listing", "status": "SUCCEEDED"}, 3},
		{"estateflow_runs_finished_total", map[string]string{"package": "new-listing", "status": "FAILED"}, 1},
		{"estateflow_step_retries_total", map[string]string{"kind": "MARKETING_CAMPAIGN"}, 1},
		{"estateflow_step_timeouts_total", map[string]string{"kind": "MARKETING_CAMPAIGN"}, 1},
		{"estateflow_slow_consumer_closes_total", map[string]string{"reason": "buffer"}, 0},
		{"estateflow_slow_consumer_closes_total", map[string]string{"reason": "stalled_websocket"}, 0},
		{"estateflow_subscriptions_active", nil, 0},
		{"estateflow_websocket_connections_active", nil, 0},
	}
	for _, c := range counters {
		if got := s.value(c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// No other series: nothing counted twice or under another label.
	for name, want := range map[string]int{"estateflow_runs_started_total": 1, "estateflow_runs_finished_total": 2, "estateflow_step_retries_total": 1, "estateflow_step_timeouts_total": 1} {
		if n := len(s[name].GetMetric()); n != want {
			t.Errorf("%s has %d series, want %d: %v", name, n, want, s[name])
		}
	}

	histograms := []struct {
		kind, outcome string
		want          int64
	}{
		{"CMA_ANALYSIS", "SUCCEEDED", 4},
		{"LISTING_STRATEGY", "SUCCEEDED", 4},
		{"MARKETING_CAMPAIGN", "SUCCEEDED", 4},
		{"MARKETING_CAMPAIGN", "RETRYING", 1},
		{"SOCIAL_SCHEDULING", "SUCCEEDED", 3},
		{"SOCIAL_SCHEDULING", "FAILED", 1},
	}
	for _, h := range histograms {
		count, sum := s.histogram("estateflow_step_duration_seconds", map[string]string{"kind": h.kind, "outcome": h.outcome})
		if count != h.want {
			t.Errorf("step_duration_seconds{kind=%s,outcome=%s} count = %d, want %d", h.kind, h.outcome, count, h.want)
		}
		if h.outcome == "RETRYING" && sum < attemptTimeout.Seconds() {
			t.Errorf("the timed-out attempt took %.3fs, less than its %s timeout", sum, attemptTimeout)
		}
	}
	if n := len(s["estateflow_step_duration_seconds"].GetMetric()); n != len(histograms) {
		t.Errorf("step_duration_seconds has %d series, want %d", n, len(histograms))
	}
	if count, _ := s.histogram("estateflow_graphql_operation_duration_seconds", map[string]string{"type": "mutation", "operation": "StartRun"}); count != 4 {
		t.Errorf("graphql_operation_duration_seconds{StartRun} count = %d, want 4", count)
	}
	// newListingPackage's queries are anonymous.
	if count, _ := s.histogram("estateflow_graphql_operation_duration_seconds", map[string]string{"type": "query", "operation": "anonymous"}); count < 1 {
		t.Errorf("anonymous queries not counted: %d", count)
	}
	for _, name := range []string{"go_sql_open_connections", "go_sql_max_open_connections"} {
		if s.value(name, map[string]string{"db_name": "estateflow"}) < 0 {
			t.Errorf("%s{db_name=estateflow} is missing", name)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if s[name] == nil {
			t.Errorf("%s is missing", name)
		}
	}
	_, river := s["estateflow_river_jobs"]
	if isPostgres := api.db.Dialect == "postgres"; river != isPostgres {
		t.Fatalf("River queue metrics present = %v on %s", river, api.db.Dialect)
	}
	if river {
		// Every step attempt was a River job; a retry's job that came
		// early snoozes and is worked once more, so at least 17.
		if count, _ := s.histogram("estateflow_river_job_latency_seconds", map[string]string{"queue": "default"}); count < 17 {
			t.Errorf("river_job_latency_seconds count = %d, want at least 17", count)
		}
		for _, state := range []string{"available", "pending", "retryable", "running", "scheduled"} {
			if got := s.value("estateflow_river_jobs", map[string]string{"queue": "default", "state": state}); got != 0 {
				t.Errorf("river_jobs{state=%s} = %v after every run ended, want 0", state, got)
			}
		}
	}
}

// newListingPackage creates a property and returns its ID and New
// Listing's.
func (a *testAPI) newListingPackage(t *testing.T) (propertyID, packageID string) {
	t.Helper()
	var setup struct {
		CreateProperty struct{ ID string } `json:"createProperty"`
		Packages       struct {
			Edges []struct{ Node struct{ ID, Key string } } `json:"edges"`
		} `json:"packages"`
	}
	a.do(`mutation { createProperty(input: {city: "Austin", latitude: 30.2, longitude: -97.7}) { id } }`, nil).ok(t, &setup)
	a.do(`{ packages(first: 10) { edges { node { id key } } } }`, nil).ok(t, &setup)
	for _, e := range setup.Packages.Edges {
		if e.Node.Key == "new-listing" {
			return setup.CreateProperty.ID, e.Node.ID
		}
	}
	t.Fatalf("no new-listing package: %+v", setup.Packages)
	return "", ""
}

// TestMetricsEndpointAccess: on the main listener /metrics is open, or
// asks for the metrics token when one is set; with -metrics-addr it is
// served only there.
func TestMetricsEndpointAccess(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		cfg    Config
		token  string
		status int
	}{
		{"open by default", Config{}, "", http.StatusOK},
		{"token set, none sent", Config{MetricsToken: "m3trics"}, "", http.StatusUnauthorized},
		{"token set, wrong one sent", Config{MetricsToken: "m3trics"}, "nope", http.StatusUnauthorized},
		{"token set and sent", Config{MetricsToken: "m3trics"}, "m3trics", http.StatusOK},
		{"separate listener", Config{MetricsAddr: "127.0.0.1:0"}, "", http.StatusNotFound},
	}
	api := newTestAPI(t, testOptions{})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := serverWith(t, api, c.cfg)
			status, header, body := send(t, http.MethodGet, srv.URL+MetricsPath, c.token, nil, nil)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			if status == http.StatusUnauthorized && (!strings.Contains(string(body), `"code":"UNAUTHENTICATED"`) || header.Get("WWW-Authenticate") == "") {
				t.Fatalf("refusal: %v %s", header, body)
			}
		})
	}
	// The operator's listener serves them with no token.
	ops := httptest.NewServer(newMetricsMux(api.metrics, false))
	defer ops.Close()
	if s := scrapeMetrics(t, ops.URL+MetricsPath, ""); s["estateflow_runs_started_total"] == nil && s["go_goroutines"] == nil {
		t.Fatal(fmt.Sprint("operator listener serves no metrics: ", s))
	}
	// Profiles only with -pprof, and never on the main listener.
	withPprof := httptest.NewServer(newMetricsMux(api.metrics, true))
	defer withPprof.Close()
	for _, tc := range []struct {
		url  string
		want int
	}{
		{ops.URL + "/debug/pprof/heap", http.StatusNotFound},
		{withPprof.URL + "/debug/pprof/heap", http.StatusOK},
		{withPprof.URL + "/debug/pprof/goroutine?debug=1", http.StatusOK},
		{api.srv.URL + "/debug/pprof/heap", http.StatusNotFound},
	} {
		if status, _, body := send(t, http.MethodGet, tc.url, "", nil, nil); status != tc.want {
			t.Errorf("GET %s: %d, want %d: %.200s", tc.url, status, tc.want, body)
		}
	}
}

// TestPprofNeedsMetricsAddr: -pprof alone is a usage error, since the
// profiles are never served on the main listener.
func TestPprofNeedsMetricsAddr(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	if _, err := parseServe([]string{"--pprof"}, io.Discard, none); cli.CodeOf(err) != cli.ExitUsage {
		t.Fatalf("-pprof without -metrics-addr: %v, want a usage error", err)
	}
	cfg, err := parseServe([]string{"--pprof", "--metrics-addr", "127.0.0.1:9090"}, io.Discard, none)
	if err != nil || !cfg.Pprof {
		t.Fatalf("-pprof with -metrics-addr: %+v, %v", cfg.Pprof, err)
	}
}
