package app

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/runevent"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/internal/cli"
)

// envOf is a lookup over a fixed environment.
func envOf(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// cliTestAPI serves New Listing with stub executors: the social step
// fails for good when the run's param fail is true, and the campaign step
// waits for gate (when not nil) to close.
func cliTestAPI(t *testing.T, gate <-chan struct{}) *testAPI {
	done := engine.ExecutorFunc(func(context.Context, *engine.StepContext) (any, error) { return map[string]any{"ok": true}, nil })
	campaign := engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		if gate != nil {
			sc.Progress(0.5, "drafting the copy")
			select {
			case <-gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return map[string]any{"ok": true}, nil
	})
	social := engine.ExecutorFunc(func(_ context.Context, sc *engine.StepContext) (any, error) {
		if sc.Params["fail"] == true {
			return nil, engine.Permanent(errors.New("the social network refused the post"))
		}
		return map[string]any{"ok": true}, nil
	})
	return newTestAPI(t, testOptions{executors: executorsOf(map[stepkind.Kind]engine.Executor{
		stepkind.CMAAnalysis: done, stepkind.ListingStrategy: done, stepkind.MarketingCampaign: campaign, stepkind.SocialScheduling: social,
	})})
}

var eventLine = regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d  #(\d+) +(\S+) +(\S+)`)

// eventSeqs returns the seqs of the plain event lines, in order.
func eventSeqs(t *testing.T, out string) []int {
	t.Helper()
	var seqs []int
	for _, m := range eventLine.FindAllStringSubmatch(out, -1) {
		n, err := strconv.Atoi(m[1])
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, n)
	}
	return seqs
}

// checkAllEventsOnce checks that the output shows each of the run's
// stored events once, in order.
func checkAllEventsOnce(t *testing.T, api *testAPI, out string) {
	t.Helper()
	id := regexp.MustCompile(`(?m)^Run (\S+) \(new-listing v1\)`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no summary in:\n%s", out)
	}
	stored, err := api.ent().RunEvent.Query().Where(runevent.RunID(mustInt(t, id[1]))).Count(api.ctx())
	if err != nil {
		t.Fatal(err)
	}
	seqs := eventSeqs(t, out)
	if len(seqs) != stored {
		t.Fatalf("printed %d events (%v), the run has %d:\n%s", len(seqs), seqs, stored, out)
	}
	for i, s := range seqs {
		if s != i+1 {
			t.Fatalf("event lines out of order or repeated: %v", seqs)
		}
	}
}

// TestRunWatchCommand runs `estateflow run --watch` in-process against a
// test server, for a run that succeeds and one that fails, and checks the
// lines, the summary and the exit code.
func TestRunWatchCommand(t *testing.T) {
	t.Parallel()
	api := cliTestAPI(t, nil)
	propertyID, _ := api.newListingPackage(t)
	env := envOf(map[string]string{"ESTATEFLOW_TOKEN": api.token, "ESTATEFLOW_SERVER": api.srv.URL})
	cases := []struct {
		name     string
		args     []string
		code     int
		summary  []string // in the summary, in order
		stderrIs string   // in the error
	}{
		{
			name: "succeeds", args: []string{"new-listing", "--property", propertyID, "--watch"}, code: cli.ExitOK,
			summary: []string{"): SUCCEEDED", "cma", "CMA_ANALYSIS", "SUCCEEDED", "strategy", "campaign", "social", "SOCIAL_SCHEDULING", "SUCCEEDED"},
		},
		{
			name: "fails", args: []string{"new-listing", "--watch", "--property", propertyID, "--param", "fail=true", "--param", "budget=1000"}, code: cli.ExitFailed,
			summary:  []string{"): FAILED", "campaign", "MARKETING_CAMPAIGN", "SUCCEEDED", "social", "SOCIAL_SCHEDULING", "FAILED", "social failed: the social network refused the post"},
			stderrIs: "FAILED: step social failed",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			err := runCommand(context.Background(), c.args, &stdout, &stderr, env, false)
			out := stdout.String()
			if got := cli.CodeOf(err); got != c.code {
				t.Fatalf("exit code %d (%v), want %d\nstdout:\n%s\nstderr:\n%s", got, err, c.code, out, stderr.String())
			}
			if c.stderrIs != "" && !strings.Contains(err.Error(), c.stderrIs) {
				t.Fatalf("error %q, want it to say %q", err, c.stderrIs)
			}
			checkAllEventsOnce(t, api, out)
			summary := out[strings.Index(out, "\nRun "):]
			rest := summary
			for _, want := range c.summary {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("summary lacks %q (in order):\n%s", want, summary)
				}
				rest = rest[i+len(want):]
			}
			if strings.Contains(out, "\x1b[") {
				t.Fatalf("plain output has terminal escapes:\n%q", out)
			}
		})
	}
}

// TestRunWatchCommandTerminal: on a terminal the steps are bars redrawn in
// place, every bar full at the end.
func TestRunWatchCommandTerminal(t *testing.T) {
	t.Parallel()
	api := cliTestAPI(t, nil)
	propertyID, _ := api.newListingPackage(t)
	var stdout, stderr syncBuffer
	err := runCommand(context.Background(), []string{"new-listing", "--property=" + propertyID, "--watch", "--server", api.srv.URL, "--token", api.token},
		&stdout, &stderr, envOf(nil), true)
	if err != nil {
		t.Fatalf("run --watch: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	last := out[strings.LastIndex(out, "\x1b[5F"):] // the final drawing: the run and 4 steps
	full := "[" + strings.Repeat("█", 24) + "] 100%  SUCCEEDED"
	if n := strings.Count(last, full); n != 4 || !strings.Contains(last, "  SUCCEEDED\n") {
		t.Fatalf("final drawing has %d full bars:\n%s", n, last)
	}
}

// TestRunWatchResumes drops the connection mid-run: the command reconnects,
// resumes after the last event it printed, and prints every event once.
func TestRunWatchResumes(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	api := cliTestAPI(t, gate)
	propertyID, _ := api.newListingPackage(t)
	proxy := newTCPProxy(t, strings.TrimPrefix(api.srv.URL, "http://"))
	var stdout, stderr syncBuffer
	errc := make(chan error, 1)
	go func() {
		errc <- runCommand(context.Background(), []string{"new-listing", "--property", propertyID, "--watch"}, &stdout, &stderr,
			envOf(map[string]string{"ESTATEFLOW_TOKEN": api.token, "ESTATEFLOW_SERVER": "http://" + proxy.ln.Addr().String()}), false)
	}()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(stdout.String(), "drafting the copy"); time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-errc:
			t.Fatalf("run --watch ended early: %v\n%s%s", err, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the campaign step never showed its progress:\n%s", stdout.String())
		}
	}
	// The command holds one websocket with one subscription.
	metricsURL := api.srv.URL + MetricsPath
	open := map[string]float64{"estateflow_websocket_connections_active": 1, "estateflow_subscriptions_active": 1}
	for name, want := range open {
		if got := scrapeMetrics(t, metricsURL, "").value(name, nil); got != want {
			t.Errorf("%s = %v while watching, want %v", name, got, want)
		}
	}
	proxy.drop()
	close(gate)
	var err error
	select {
	case err = <-errc:
	case <-time.After(60 * time.Second):
		t.Fatalf("run --watch did not end:\n%s", stdout.String())
	}
	out := stdout.String()
	if err != nil {
		t.Fatalf("run --watch: %v\n%s\n%s", err, out, stderr.String())
	}
	if !strings.Contains(out, "connection lost") || !strings.Contains(out, "resuming after event #") {
		t.Fatalf("no reconnection shown:\n%s", out)
	}
	checkAllEventsOnce(t, api, out)
	// Both connections, the dropped one and the resumed one, are closed.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		s := scrapeMetrics(t, metricsURL, "")
		if s.value("estateflow_websocket_connections_active", nil) == 0 && s.value("estateflow_subscriptions_active", nil) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connections still counted after the command ended: websockets %v, subscriptions %v",
				s.value("estateflow_websocket_connections_active", nil), s.value("estateflow_subscriptions_active", nil))
		}
	}
}

// drop closes the connections the proxy carries; it keeps listening.
func (p *tcpProxy) drop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestClientCommandErrors: usage errors exit 2; the server's refusals exit
// 3 and print the error's code and message, never a stack.
func TestClientCommandErrors(t *testing.T) {
	t.Parallel()
	api := cliTestAPI(t, nil)
	propertyID, _ := api.newListingPackage(t)
	good := envOf(map[string]string{"ESTATEFLOW_TOKEN": api.token, "ESTATEFLOW_SERVER": api.srv.URL})
	cases := []struct {
		name string
		cmd  func(ctx context.Context, args []string, stdout, stderr *syncBuffer) error
		args []string
		code int
		want string
	}{
		{"run without a package", runWith(good), []string{"--property", propertyID}, cli.ExitUsage, "give one PACKAGE-KEY"},
		{"run with both subjects", runWith(good), []string{"new-listing", "--property", propertyID, "--client", "1"}, cli.ExitUsage, "either --property or --client"},
		{"run with a malformed param", runWith(good), []string{"new-listing", "--property", propertyID, "--param", "budget"}, cli.ExitUsage, "want KEY=VALUE"},
		{"run of an unknown package", runWith(good), []string{"no-such-package", "--property", propertyID}, cli.ExitConnection, "NOT_FOUND: no package has the key"},
		{"run on a client for a property package", runWith(good), []string{"new-listing", "--client", propertyID}, cli.ExitConnection, "BAD_USER_INPUT: "},
		{"run with a bad token", runWith(envOf(map[string]string{"ESTATEFLOW_TOKEN": "nope", "ESTATEFLOW_SERVER": api.srv.URL})), []string{"new-listing", "--property", propertyID}, cli.ExitConnection, "UNAUTHENTICATED: "},
		{"run against no server", runWith(envOf(map[string]string{"ESTATEFLOW_SERVER": "http://127.0.0.1:1"})), []string{"new-listing", "--property", propertyID}, cli.ExitConnection, "cannot reach http://127.0.0.1:1"},
		{"runs with a bad status", runsWith(good), []string{"--status", "DONE"}, cli.ExitConnection, "BAD_USER_INPUT"},
		{"runs with a bad page size", runsWith(good), []string{"--first", "0"}, cli.ExitUsage, "--first must be between 1 and 100"},
		{"report with a bad format", reportWith(good), []string{"1", "--format", "pdf"}, cli.ExitUsage, "--format must be"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			err := c.cmd(context.Background(), c.args, &stdout, &stderr)
			if got := cli.CodeOf(err); got != c.code || !strings.Contains(fmt.Sprint(err), c.want) {
				t.Fatalf("exit code %d, error %q; want %d and %q", got, err, c.code, c.want)
			}
			for _, leak := range []string{"goroutine", ".go:", "panic"} {
				if strings.Contains(err.Error(), leak) {
					t.Fatalf("error leaks %q: %s", leak, err)
				}
			}
		})
	}
}

func runWith(env func(string) (string, bool)) func(context.Context, []string, *syncBuffer, *syncBuffer) error {
	return func(ctx context.Context, args []string, stdout, stderr *syncBuffer) error {
		return runCommand(ctx, args, stdout, stderr, env, false)
	}
}

func runsWith(env func(string) (string, bool)) func(context.Context, []string, *syncBuffer, *syncBuffer) error {
	return func(ctx context.Context, args []string, stdout, stderr *syncBuffer) error {
		return runsCommand(ctx, args, stdout, stderr, env)
	}
}

func reportWith(env func(string) (string, bool)) func(context.Context, []string, *syncBuffer, *syncBuffer) error {
	return func(ctx context.Context, args []string, stdout, stderr *syncBuffer) error {
		return reportCommand(ctx, args, stdout, stderr, env)
	}
}

// TestRunsCommand lists runs a page at a time, filtered by status and
// package, with the next page's command.
func TestRunsCommand(t *testing.T) {
	t.Parallel()
	api := cliTestAPI(t, nil)
	propertyID, _ := api.newListingPackage(t)
	env := envOf(map[string]string{"ESTATEFLOW_TOKEN": api.token, "ESTATEFLOW_SERVER": api.srv.URL})
	for _, params := range [][]string{nil, nil, {"--param", "fail=true"}} {
		var stdout, stderr syncBuffer
		_ = runCommand(context.Background(), append([]string{"new-listing", "--property", propertyID, "--watch"}, params...), &stdout, &stderr, env, false)
	}
	run := func(args ...string) string {
		t.Helper()
		var stdout, stderr syncBuffer
		if err := runsCommand(context.Background(), args, &stdout, &stderr, env); err != nil {
			t.Fatalf("runs %v: %v", args, err)
		}
		return stdout.String()
	}
	out := run("--first", "2")
	if rows := strings.Count(out, "new-listing v1"); rows != 2 || !strings.Contains(out, "2 of 3 runs. Next page: estateflow runs --first 2 --after ") {
		t.Fatalf("first page:\n%s", out)
	}
	cursor := out[strings.LastIndex(out, "--after ")+len("--after "):]
	out = run("--first", "2", "--after", strings.TrimSpace(cursor))
	if rows := strings.Count(out, "new-listing v1"); rows != 1 || strings.Contains(out, "Next page") {
		t.Fatalf("second page:\n%s", out)
	}
	if out := run("--status", "failed"); strings.Count(out, "FAILED") != 1 || strings.Contains(out, "SUCCEEDED") {
		t.Fatalf("--status failed:\n%s", out)
	}
	if out := run("--package", "lead-nurture"); !strings.Contains(out, "No runs.") {
		t.Fatalf("--package lead-nurture:\n%s", out)
	}
}

// TestReportCommand prints a finished run's report (GET
// /api/v1/runs/{id}/report) in each format, and maps another
// organization's run to NOT_FOUND.
func TestReportCommand(t *testing.T) {
	t.Parallel()
	api := cliTestAPI(t, nil)
	propertyID, _ := api.newListingPackage(t)
	env := envOf(map[string]string{"ESTATEFLOW_TOKEN": api.token, "ESTATEFLOW_SERVER": api.srv.URL})
	var started, stderr syncBuffer
	if err := runCommand(context.Background(), []string{"new-listing", "--property", propertyID, "--watch"}, &started, &stderr, env, false); err != nil {
		t.Fatalf("run --watch: %v", err)
	}
	runID := regexp.MustCompile(`(?m)^Run (\S+) \(`).FindStringSubmatch(started.String())[1]
	for _, c := range []struct{ format, want string }{
		{"md", "# New Listing"},
		{"json", `"status"`},
		{"csv", "cma"},
		{"html", "<html"},
	} {
		t.Run(c.format, func(t *testing.T) {
			var stdout, stderr syncBuffer
			if err := reportCommand(context.Background(), []string{runID, "--format", c.format}, &stdout, &stderr, env); err != nil {
				t.Fatalf("report --format %s: %v", c.format, err)
			}
			if out := stdout.String(); !strings.Contains(strings.ToLower(out), strings.ToLower(c.want)) {
				t.Fatalf("report --format %s lacks %q:\n%s", c.format, c.want, out)
			}
		})
	}
	rival, _ := rivalToken(t, api)
	var stdout, stderrRival syncBuffer
	err := reportCommand(context.Background(), []string{runID}, &stdout, &stderrRival,
		envOf(map[string]string{"ESTATEFLOW_TOKEN": rival, "ESTATEFLOW_SERVER": api.srv.URL}))
	if cli.CodeOf(err) != cli.ExitConnection || !strings.Contains(fmt.Sprint(err), "NOT_FOUND") {
		t.Fatalf("another organization's report: %v", err)
	}
}
