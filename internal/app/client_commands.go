package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/estateflow/estateflow/internal/cli"
)

// The client commands (run, runs, report) call a running server through
// its public APIs, as any client does; internal/cli holds the client.

const exitCodesHelp = `Exit codes:
  0  success (run --watch: the run SUCCEEDED)
  1  any other error
  2  bad flags or arguments
  3  the server could not be reached, or refused the request (its error code is printed)
  4  run --watch: the run FAILED
  5  run --watch: the run was CANCELED`

// clientFlags are the client commands' connection flags. The token's flag
// has no default from the environment, so that --help never prints it.
type clientFlags struct {
	server *string
	token  *string
	lookup func(string) (string, bool)
}

func (c *commandLine) clientFlags(lookup func(string) (string, bool)) clientFlags {
	return clientFlags{
		server: c.fs.String("server", c.env.str("ESTATEFLOW_SERVER", "http://localhost:8080"), "the server's base URL (env ESTATEFLOW_SERVER)"),
		token:  c.fs.String("token", "", "an API token (env ESTATEFLOW_TOKEN, which keeps it out of process lists)"),
		lookup: lookup,
	}
}

func (f clientFlags) client() *cli.Client {
	token := *f.token
	if token == "" {
		token, _ = f.lookup("ESTATEFLOW_TOKEN")
	}
	return &cli.Client{Server: *f.server, Token: token}
}

// parseClient parses a client command's flags; a malformed one is a usage
// error (exit code 2).
func (c *commandLine) parseClient(args []string) ([]string, error) {
	positional, err := c.parse(args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return nil, cli.Usage("%v", err)
	}
	return positional, err
}

// paramFlag collects --param k=v; a value that reads as JSON (a number,
// true, false, null, a quoted string, an array or an object) is that
// value, anything else a string.
type paramFlag map[string]any

func (p paramFlag) String() string { return "" }

func (p paramFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", s)
	}
	var value any
	if err := json.Unmarshal([]byte(v), &value); err != nil {
		value = v
	}
	p[k] = value
	return nil
}

// RunCommand implements `estateflow run PACKAGE-KEY --property ID | --client
// ID [--param k=v]... [--watch] [--idempotency-key K]`.
func RunCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runCommand(ctx, args, stdout, stderr, os.LookupEnv, isTerminal(stdout))
}

func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool), tty bool) error {
	c := newCommandLine("run", "run PACKAGE-KEY --property ID | --client ID [--param KEY=VALUE]... [--watch] [flags]",
		"Starts a run of the package with the key (its current version) on a property or a client,\n"+
			"through the server's GraphQL API, and prints the run's ID. With --watch it follows the run\n"+
			"to its end: a progress bar per step on a terminal, one line per event otherwise, then\n"+
			"each step's status and duration. A dropped connection is resumed from the last event.\n\n"+exitCodesHelp, stderr, lookup)
	conn := c.clientFlags(lookup)
	property := c.fs.String("property", "", "the property's ID, for a property package")
	client := c.fs.String("client", "", "the client's ID, for a client package")
	params := paramFlag{}
	c.fs.Var(params, "param", "a run parameter KEY=VALUE; repeat for more (VALUE is read as JSON when it is JSON: 1000, true, \"x\")")
	watch := c.fs.Bool("watch", false, "follow the run to its end; the exit code tells how it ended")
	idem := c.fs.String("idempotency-key", "", "makes the start safe to repeat: the same key and input start one run")
	args, err := c.parseClient(args)
	if err != nil {
		return err
	}
	switch {
	case len(args) != 1:
		c.fs.Usage()
		return cli.Usage("run: give one PACKAGE-KEY")
	case (*property == "") == (*client == ""):
		return cli.Usage("run: give either --property or --client")
	}
	api := conn.client()
	run, err := api.StartRun(ctx, cli.StartRequest{PackageKey: args[0], PropertyID: *property, ClientID: *client, Params: params, IdempotencyKey: *idem})
	if err != nil {
		return err
	}
	if !*watch {
		fmt.Fprintf(stdout, "Started run %s (%s v%d): %s\n", run.ID, run.Package.Key, run.PackageVersion, run.Status)
		return nil
	}
	fmt.Fprintf(stderr, "Run %s (%s v%d) started; watching it.\n", run.ID, run.Package.Key, run.PackageVersion)
	return watchRun(ctx, api, run, stdout, tty)
}

// watchRun follows the run to its end, then prints the summary; its error
// carries the exit code of the run's status.
func watchRun(ctx context.Context, api *cli.Client, run cli.RunInfo, stdout io.Writer, tty bool) error {
	progress := cli.NewProgress(stdout, tty, run)
	final, err := api.WatchRun(ctx, run.ID, cli.WatchOptions{OnEvent: progress.Event, OnResume: progress.Resumed})
	if err != nil {
		return err
	}
	done, err := api.Run(ctx, run.ID)
	if err != nil {
		return err
	}
	cli.PrintSummary(stdout, done)
	switch final.Type {
	case "RUN_SUCCEEDED":
		return nil
	case "RUN_CANCELED":
		return &cli.ExitCodeError{Code: cli.ExitCanceled, Err: fmt.Errorf("run %s was CANCELED", run.ID)}
	}
	return &cli.ExitCodeError{Code: cli.ExitFailed, Err: fmt.Errorf("run %s FAILED: %s", run.ID, final.Message)}
}

// RunsCommand implements `estateflow runs [--status S] [--package KEY]
// [--first N] [--after CURSOR]`.
func RunsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runsCommand(ctx, args, stdout, stderr, os.LookupEnv)
}

func runsCommand(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	c := newCommandLine("runs", "runs [--status STATUS] [--package KEY] [--first N] [--after CURSOR] [flags]",
		"Lists the organization's runs, newest first, a page at a time, through the GraphQL API.\n\n"+exitCodesHelp, stderr, lookup)
	conn := c.clientFlags(lookup)
	status := c.fs.String("status", "", "only runs in this status: QUEUED, RUNNING, CANCELING, SUCCEEDED, FAILED or CANCELED")
	pkg := c.fs.String("package", "", "only runs of the package with this key")
	first := c.fs.Int("first", 20, "runs per page (1 to 100)")
	after := c.fs.String("after", "", "the cursor printed at the end of the previous page")
	args, err := c.parseClient(args)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return cli.Usage("runs: unexpected argument %q", args[0])
	}
	if *first < 1 || *first > 100 {
		return cli.Usage("runs: --first must be between 1 and 100")
	}
	page, err := conn.client().ListRuns(ctx, cli.RunsFilter{Status: strings.ToUpper(*status), PackageKey: *pkg, First: *first, After: *after})
	if err != nil {
		return err
	}
	cli.PrintRuns(stdout, page, func(cursor string) string {
		next := "estateflow runs --first " + fmt.Sprint(*first)
		if *status != "" {
			next += " --status " + strings.ToUpper(*status)
		}
		if *pkg != "" {
			next += " --package " + *pkg
		}
		return next + " --after " + cursor
	})
	return nil
}

// ReportCommand implements `estateflow report RUN-ID --format md|json|csv|html`.
func ReportCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return reportCommand(ctx, args, stdout, stderr, os.LookupEnv)
}

func reportCommand(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	c := newCommandLine("report", "report RUN-ID [--format md|json|csv|html] [flags]",
		"Prints a run's report from the server's REST API (GET /api/v1/runs/RUN-ID/report).\n\n"+exitCodesHelp, stderr, lookup)
	conn := c.clientFlags(lookup)
	format := c.fs.String("format", "md", "md, json, csv or html")
	args, err := c.parseClient(args)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		c.fs.Usage()
		return cli.Usage("report: give one RUN-ID")
	}
	switch *format {
	case "md", "json", "csv", "html":
	default:
		return cli.Usage("report: --format must be md, json, csv or html")
	}
	body, err := conn.client().Report(ctx, args[0], *format)
	if err != nil {
		return err
	}
	_, err = stdout.Write(body)
	return err
}

// isTerminal reports whether w is a terminal, where progress bars are
// redrawn in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
