package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/internal/cli"
	"github.com/estateflow/estateflow/internal/loadtest"
)

// TestLoadtestCommand runs `estateflow loadtest` against the real server
// (app.New over SQLite, and PostgreSQL with TEST_DATABASE_URL) with real
// New Listing runs, and checks its JSON report and that it stops by
// itself: after --duration, or after --runs.
func TestLoadtestCommand(t *testing.T) {
	api := newTestAPI(t, testOptions{demo: true, config: func(c *Config) { c.MaxConnections = 100 }})
	tests := []struct {
		name     string
		args     []string
		duration time.Duration
		runs     int // with --runs: exactly this many start
	}{
		{"graphql for a duration", []string{"--via", "graphql", "--concurrency", "2", "--duration", "2s", "--queries-per-second", "4"}, 2 * time.Second, 0},
		{"rest for a number of runs", []string{"--via", "rest", "--concurrency", "2", "--runs", "3", "--duration", "5m"}, 0, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const drain, settle = 3 * time.Minute, 30 * time.Second
			args := append([]string{
				"--server", api.srv.URL, "--token", api.token, "--json",
				"--subscribers", "6", "--runs-updated-share", "0.5", "--watchers-per-run", "1",
				"--drain", drain.String(), "--settle", settle.String(), "--progress-interval", "200ms",
			}, tc.args...)
			// The bound is generous: what it checks is that the command
			// ends by itself rather than running until killed.
			bound := drain + settle + 2*time.Minute
			if tc.duration > 0 {
				bound += tc.duration
			}
			ctx, cancel := context.WithTimeout(context.Background(), bound)
			defer cancel()
			var stdout, stderr bytes.Buffer
			err := loadtestCommand(ctx, args, &stdout, &stderr, func(string) (string, bool) { return "", false })
			if ctx.Err() != nil {
				t.Fatalf("loadtest did not stop by itself within %v; stderr:\n%s", bound, stderr.String())
			}
			if err != nil {
				t.Fatalf("loadtest: %v; stderr:\n%s", err, stderr.String())
			}
			var rep loadtest.Report
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("the report is not one JSON object: %v\n%s", err, stdout.String())
			}
			checkReport(t, &rep, tc.duration, tc.runs)
			if !strings.Contains(stderr.String(), "loadtest ") || !strings.Contains(stderr.String(), "websockets open") {
				t.Errorf("no progress line on stderr:\n%s", stderr.String())
			}
		})
	}
}

func checkReport(t *testing.T, rep *loadtest.Report, duration time.Duration, runs int) {
	t.Helper()
	r, d := rep.Runs, rep.Delivery
	if r.Started == 0 || r.Completed == 0 || r.Completed > r.Started || r.Unfinished != r.Started-r.Completed ||
		r.Succeeded+r.Failed+r.Canceled != r.Completed {
		t.Errorf("runs: %+v", r)
	}
	if r.Succeeded == 0 {
		t.Errorf("no New Listing run succeeded: %+v", r)
	}
	if runs > 0 && r.Started != runs {
		t.Errorf("--runs %d started %d", runs, r.Started)
	}
	if r.StartedPerSec <= 0 || r.CompletedPerSec <= 0 {
		t.Errorf("rates: started %v/s, completed %v/s", r.StartedPerSec, r.CompletedPerSec)
	}
	if rep.StartLatency.Count != uint64(r.Started) || rep.StartLatency.P50 <= 0 || rep.StartLatency.P99 < rep.StartLatency.P50 {
		t.Errorf("start latency %+v for %d starts", rep.StartLatency, r.Started)
	}
	if duration > 0 {
		// The load stops at --duration; the margin covers the starts in
		// flight at that moment.
		if rep.LoadSeconds < duration.Seconds() || rep.LoadSeconds > duration.Seconds()+60 {
			t.Errorf("load lasted %.1fs for --duration %v", rep.LoadSeconds, duration)
		}
		if rep.Queries == nil || rep.Queries.Count == 0 {
			t.Errorf("no list query answered: %+v", rep.Queries)
		}
		// Memory is sampled every --progress-interval (200ms) through the
		// load, and summed up after the warm-up (a fifth of it).
		if m := rep.Server.Memory; m == nil || len(m.Samples) < 4 || m.RSSAtWarmupBytes <= 0 || m.RSSMaxBytes < m.RSSAtEndBytes ||
			m.HeapInuseAtWarmupBytes <= 0 || m.WarmupSeconds != duration.Seconds()/5 {
			t.Errorf("memory during the load: %+v", m)
		}
	}
	if d.Subscribers != 6 || d.RunsUpdated != 3 || d.RunEvents != 3 || d.ConnectedAtEnd != 6 {
		t.Errorf("subscribers: %+v", d)
	}
	if d.Messages == 0 || d.Latency.Count == 0 || d.Latency.Count > uint64(d.Messages) || d.MessagesPerSec <= 0 {
		t.Errorf("deliveries: %d messages, %d timed, %v/s", d.Messages, d.Latency.Count, d.MessagesPerSec)
	}
	if d.Evaluated == 0 || d.Complete > d.Evaluated || d.ShareComplete < 0 || d.ShareComplete > 1 ||
		d.RunsUpdatedComplete+d.RunEventsComplete != d.Complete {
		t.Errorf("every event: %d of %d (share %v)", d.Complete, d.Evaluated, d.ShareComplete)
	}
	if d.RunsFollowed == 0 {
		t.Errorf("no runEvents subscriber followed a run to its end: %+v", d)
	}
	// Nothing in this test is slow enough to make a subscriber miss an
	// event, or the server refuse anything.
	if d.ShareComplete != 1 || len(rep.Errors) != 0 {
		t.Errorf("share %v, errors %v %v", d.ShareComplete, rep.Errors, rep.ErrorSamples)
	}
	if s := rep.Server; s == nil || s.Error != "" || s.RSSBeforeBytes <= 0 || s.RSSConnectedBytes <= 0 || s.RSSAfterBytes <= 0 || s.CPUSeconds <= 0 {
		t.Errorf("server: %+v", s)
	}
}

// TestLoadtestFlags checks the refusals of bad flags, with exit code 2.
func TestLoadtestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--via", "soap"},
		{"--runs-updated-share", "1.5"},
		{"--duration", "0s"},
		{"--server", "ftp://x"},
		{"--baseline", "--subscribers", "0"},
		{"--duration", "10s", "--warmup", "10s"},
		{"extra"},
	} {
		var stdout, stderr bytes.Buffer
		err := loadtestCommand(context.Background(), args, &stdout, &stderr, func(string) (string, bool) { return "", false })
		if code := cli.CodeOf(err); code != cli.ExitUsage {
			t.Errorf("%v: exit code %d (%v), want 2", args, code, err)
		}
	}
}

// TestBroadcasterCommand serves `estateflow loadtest-broadcaster` and runs
// the baseline against it, as loadtest --baseline does with the command in
// a process of its own: it reports where it listens, delivers every
// message to every subscriber, and ends cleanly when told to stop.
func TestBroadcasterCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	line := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		served <- BroadcasterCommand(ctx, []string{"--addr", "127.0.0.1:0"}, &firstLine{line: line}, io.Discard)
	}()
	var url string
	select {
	case l := <-line:
		var ok bool
		if url, ok = strings.CutPrefix(l, broadcasterListening); !ok {
			t.Fatalf("first line %q, want %q…", l, broadcasterListening)
		}
	case err := <-served:
		t.Fatalf("the broadcaster ended before listening: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the broadcaster did not say where it listens")
	}
	const subscribers, runs, perRun = 30, 4, 9
	stopped := false
	rep, err := loadtest.RunBaseline(ctx, loadtest.BaselineConfig{
		Subscribers: subscribers, Runs: runs, MessagesPerRun: perRun, Settle: 30 * time.Second,
		StartBroadcaster: func(context.Context) (string, func() error, error) {
			return url, func() error {
				stopped = true
				cancel()
				return <-served
			}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !stopped {
		t.Error("RunBaseline did not stop the broadcaster it started")
	}
	d := rep.Delivery
	if want := int64(subscribers * runs * perRun); d.Messages != want || d.Complete != subscribers || len(rep.Errors) != 0 {
		t.Errorf("%d messages (want %d), %d of %d subscribers complete, errors %v", d.Messages, want, d.Complete, subscribers, rep.Errors)
	}
}

// TestBroadcasterCommandRefusesABadAddress: a bad --addr is a usage error.
func TestBroadcasterCommandRefusesABadAddress(t *testing.T) {
	err := BroadcasterCommand(context.Background(), []string{"--addr", "nowhere:-1"}, io.Discard, io.Discard)
	if cli.CodeOf(err) != cli.ExitUsage {
		t.Fatalf("got %v (exit %d), want a usage error", err, cli.CodeOf(err))
	}
}

// TestLoadtestWaitsOutRetryAfter: a start refused with RATE_LIMITED and a
// Retry-After makes its starter wait that long, as a client should, so
// that the load measures the server's work rather than how fast it
// refuses. Nothing finishes while the steps' gate is shut, so the
// admission's budget is its floor and every start past it is refused with
// Retry-After equal to the bound (2 s).
func TestLoadtestWaitsOutRetryAfter(t *testing.T) {
	g := newGate(t)
	api := newTestAPI(t, testOptions{demo: true,
		executors: g.executors(stepkind.CMAAnalysis, stepkind.ListingStrategy, stepkind.MarketingCampaign, stepkind.SocialScheduling),
		config: func(c *Config) {
			underAdmission(c)
			c.AdmissionMaxWait, c.MaxConnections = 2*time.Second, 100
		}})
	const starters, load = 6, 3 * time.Second
	// The gate opens once the load is over, so that the runs drain.
	opener := time.AfterFunc(load+500*time.Millisecond, g.release)
	defer opener.Stop()
	rep := runLoadtest(t, api, "--subscribers", "0", "--concurrency", strconv.Itoa(starters), "--duration", load.String(), "--drain", "2m")
	refused := rep.Errors["RATE_LIMITED"]
	// Each starter is refused at most once per 2 s of the 3 s load, plus
	// the refusal in flight when it ends.
	if refused == 0 || rep.Runs.BackedOff != refused || refused > starters*3 {
		t.Fatalf("%d starts refused, %d waited out; want some, all waited out, at most %d: %+v", refused, rep.Runs.BackedOff, starters*3, rep.Runs)
	}
	if rep.Runs.Started < admissionFloor || rep.Runs.Unfinished != 0 {
		t.Fatalf("runs: %+v", rep.Runs)
	}
}

// TestLoadtestIdleWatchersAnswerPings: a runEvents watcher with no run to
// follow still answers the server's pings, as any websocket client does,
// so the server does not close it as stalled. The server pings every
// --ws-write-timeout (here 300ms) and closes a socket whose pong does not
// come within as long; the watchers idle for several times that.
func TestLoadtestIdleWatchersAnswerPings(t *testing.T) {
	api := newTestAPI(t, testOptions{demo: true, config: func(c *Config) {
		c.WSWriteTimeout, c.MaxConnections = 300*time.Millisecond, 100
	}})
	rep := runLoadtest(t, api, "--subscribers", "4", "--runs-updated-share", "0", "--rate", "0.5", "--concurrency", "1",
		"--duration", "4s", "--drain", "2m", "--settle", "2s")
	if d := rep.Delivery; d.ConnectedAtEnd != 4 || d.Reconnects != 0 || len(rep.Errors) != 0 || d.RunsFollowed == 0 {
		t.Fatalf("%d of 4 watchers connected at the end, %d reconnections, %d runs followed, errors %v %v",
			d.ConnectedAtEnd, d.Reconnects, d.RunsFollowed, rep.Errors, rep.ErrorSamples)
	}
}

// runLoadtest runs `estateflow loadtest --json` with args against api and
// returns its report.
func runLoadtest(t *testing.T, api *testAPI, args ...string) loadtest.Report {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append([]string{"--server", api.srv.URL, "--token", api.token, "--json"}, args...)
	if err := loadtestCommand(context.Background(), args, &stdout, &stderr, func(string) (string, bool) { return "", false }); err != nil {
		t.Fatalf("loadtest: %v; stderr:\n%s", err, stderr.String())
	}
	var rep loadtest.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("the report is not one JSON object: %v\n%s", err, stdout.String())
	}
	return rep
}
