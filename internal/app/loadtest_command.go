package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/estateflow/estateflow/internal/cli"
	"github.com/estateflow/estateflow/internal/fdlimit"
	"github.com/estateflow/estateflow/internal/loadtest"
)

// stringsFlag collects a repeated flag's values.
type stringsFlag []string

func (s *stringsFlag) String() string { return strings.Join(*s, ",") }
func (s *stringsFlag) Set(v string) error {
	*s = append(*s, v)
	return nil
}

// LoadtestCommand implements `estateflow loadtest`.
func LoadtestCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return loadtestCommand(ctx, args, stdout, stderr, os.LookupEnv)
}

func loadtestCommand(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	c := newCommandLine("loadtest", "loadtest [flags]",
		"Drives a running server over its public protocols and measures it. It opens --subscribers\n"+
			"websockets (graphql-transport-ws), one subscription each: --runs-updated-share of them on\n"+
			"runsUpdated, the others following started runs through runEvents. For --duration it starts\n"+
			"runs of --package at --rate, or --concurrency at a time, through GraphQL or REST, optionally\n"+
			"with --queries-per-second list queries; then it waits up to --drain for the runs to finish\n"+
			"and up to --settle for the subscribers to receive the last events. A progress line goes to\n"+
			"stderr every --progress-interval. At the end it prints runs/s started and completed, start\n"+
			"latency, event delivery latency (from each event's commit time to its arrival; the client's\n"+
			"and server's clocks must agree), the share of subscribers that got every event, errors by\n"+
			"code, and the server's RSS and CPU from /metrics; --json prints it as one JSON object.\n\n"+
			"The server must allow the load: serve it with --rate-limit and --max-connections above what\n"+
			"the token uses (every subscriber is one connection of the token). The open files limit of\n"+
			"this process is raised to its hard limit. With --baseline, the same subscriber client then\n"+
			"measures a trivial broadcaster sending the same volume, in a process of its own\n"+
			"(estateflow loadtest-broadcaster; see BENCHMARKS.md).\n\n"+
			"Exit codes: 0 done (the report may still count errors), 1 the test could not run,\n"+
			"2 bad flags, 3 the server could not be reached or refused the setup.", stderr, lookup)
	conn := c.clientFlags(lookup)
	d := loadtest.Defaults()
	fs := c.fs
	metricsURL := fs.String("metrics-url", "", "the server's Prometheus metrics (default: --server + /metrics; use the -metrics-addr listener's URL if the server has one)")
	metricsToken := fs.String("metrics-token", "", "bearer token for /metrics (env ESTATEFLOW_METRICS_TOKEN)")
	subscribers := fs.Int("subscribers", d.Subscribers, "websocket subscribers, each on its own connection")
	share := fs.Float64("runs-updated-share", d.RunsUpdatedShare, "share of the subscribers (0 to 1) on runsUpdated; the others follow started runs through runEvents")
	watchers := fs.Int("watchers-per-run", d.WatchersPerRun, "runEvents subscribers handed each started run (each follows its runs one after another)")
	connect := fs.Int("connect-concurrency", d.ConnectConcurrency, "websockets opened at once while connecting")
	rate := fs.Float64("rate", 0, "runs to start per second (0: as fast as --concurrency starters go); with a rate, --concurrency bounds the starts in flight")
	concurrency := fs.Int("concurrency", d.Concurrency, "concurrent starters, each starting a run after the previous one answered")
	runs := fs.Int("runs", 0, "stop once this many runs have started; refused starts do not count (0: only --duration stops)")
	via := fs.String("via", d.Via, "start runs through graphql (startRun) or rest (POST /api/v1/orchestration/runs)")
	pkg := fs.String("package", d.PackageKey, "key of the package each run starts")
	var props stringsFlag
	fs.Var(&props, "property", "ID of a property to start runs on; repeat for more (default: the first 100 the token sees)")
	qps := fs.Float64("queries-per-second", 0, "list queries (a page of properties with their runs' counts) per second mixed into the load, up to 1000")
	duration := fs.Duration("duration", d.Duration, "how long to start runs")
	drain := fs.Duration("drain", d.Drain, "how long to wait, after --duration, for the started runs to finish")
	settle := fs.Duration("settle", d.Settle, "how long to wait, after the drain, for subscribers to receive the last events")
	warmup := fs.Duration("warmup", 0, "the start of the load that the memory figures leave out (default: a fifth of --duration, at most 1m)")
	every := fs.Duration("progress-interval", d.ProgressInterval, "how often to print a progress line on stderr")
	timeout := fs.Duration("request-timeout", d.RequestTimeout, "how long one HTTP request may take")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	baseline := fs.Bool("baseline", false, "then run the trivial broadcaster with the same runsUpdated subscribers and message volume, and print both with their ratios")
	args, err := c.parseClient(args)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return cli.Usage("loadtest: unexpected argument %q", args[0])
	}
	api := conn.client()
	if *metricsToken == "" {
		*metricsToken, _ = lookup("ESTATEFLOW_METRICS_TOKEN")
	}
	cfg := loadtest.Config{
		Server: api.Server, Token: api.Token, MetricsURL: *metricsURL, MetricsToken: *metricsToken,
		Subscribers: *subscribers, RunsUpdatedShare: *share, WatchersPerRun: *watchers, ConnectConcurrency: *connect,
		Rate: *rate, Concurrency: *concurrency, Runs: *runs, Via: *via, PackageKey: *pkg, Properties: props,
		QueriesPerSecond: *qps, Duration: *duration, Warmup: *warmup, Drain: *drain, Settle: *settle,
		ProgressInterval: *every, Progress: stderr, RequestTimeout: *timeout, Baseline: *baseline,
		StartBroadcaster: spawnBroadcaster(stderr),
	}
	if err := cfg.Check(); err != nil {
		return cli.Usage("loadtest: %v", err)
	}
	before, limit, err := fdlimit.Raise()
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "loadtest: open files limit %d not raised: %v\n", before, err)
	case limit != before:
		fmt.Fprintf(stderr, "loadtest: open files limit raised from %d to %d\n", before, limit)
	}
	if need := uint64(cfg.Subscribers + cfg.Concurrency + 64); err == nil && need > limit {
		fmt.Fprintf(stderr, "loadtest: warning: %d subscribers and %d starters may need %d open files; the limit is %d\n", cfg.Subscribers, cfg.Concurrency, need, limit)
	}
	rep, err := loadtest.Run(ctx, cfg)
	if rep == nil {
		if err != nil && cli.CodeOf(err) == cli.ExitError {
			err = &cli.ExitCodeError{Code: cli.ExitConnection, Err: err}
		}
		return err
	}
	if *asJSON {
		if werr := rep.WriteJSON(stdout); werr != nil {
			return werr
		}
	} else if werr := rep.WriteText(stdout); werr != nil {
		return werr
	}
	return err
}
