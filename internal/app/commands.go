package app

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/estateflow/estateflow/internal/cli"
)

// Command is one subcommand of estateflow. Run parses args (which exclude
// the subcommand's name) with the subcommand's own flags; given --help, it
// prints them to stderr and returns flag.ErrHelp.
type Command struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// Commands lists the subcommands, the default (serve) first.
func Commands() []Command {
	return []Command{
		{"serve", "serve the GraphQL and REST APIs (the default)", Serve},
		{"migrate", "bring the database schema up to date, then exit", Migrate},
		{"import", "import properties FILE.csv: upsert properties from a CSV file", Import},
		{"token", "token create --org SLUG --user EMAIL: print a new API token", Token},
		{"cma", "cma backtest --csv FILE: value every sale in FILE from the others", CMA},
		{"run", "run PACKAGE-KEY --property ID | --client ID [--watch]: start a run on a server", RunCommand},
		{"runs", "runs [--status S] [--package KEY]: list a server's runs", RunsCommand},
		{"report", "report RUN-ID --format md|json|csv|html: print a run's report", ReportCommand},
		{"loadtest", "loadtest --subscribers N --concurrency N --duration D: load a server and measure it", LoadtestCommand},
		{"loadtest-broadcaster", "loadtest-broadcaster --addr A: serve the trivial broadcaster that loadtest --baseline compares to", BroadcasterCommand},
	}
}

// Serve implements `estateflow serve`: it serves until ctx ends.
func Serve(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg, err := parseServe(args, stderr, os.LookupEnv)
	if err != nil {
		return err
	}
	cfg.Stderr = stderr
	a, err := New(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := a.Close(); err != nil {
			a.logger.Error("closing", "err", err)
		}
	}()
	return a.Run(ctx)
}

func parseServe(args []string, stderr io.Writer, lookup func(string) (string, bool)) (Config, error) {
	c := newCommandLine("serve", "[serve] [flags]",
		"Serves the GraphQL API at /graphql (GraphiQL at /), the REST API at /api/v1 and the console at /app,\n"+
			"after bringing the database schema up to date. The other commands (migrate, import,\n"+
			"token, cma, run, runs, report, loadtest) are listed by 'estateflow help'.", stderr, lookup)
	c.databaseFlags()
	c.demoFlag()
	c.serverFlags()
	c.logFlags()
	if err := c.parseNone(args); err != nil {
		return c.cfg, err
	}
	if c.cfg.Pprof && c.cfg.MetricsAddr == "" {
		return c.cfg, cli.Usage("-pprof needs -metrics-addr: the profiles are served only on the operator's private listener")
	}
	return c.cfg, nil
}

// Migrate implements `estateflow migrate`.
func Migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseMigrate(args, stderr, os.LookupEnv)
	if err != nil {
		return err
	}
	db, err := openAndMigrate(ctx, cfg, newLogger(stderr, cfg))
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintln(stdout, "schema is up to date")
	return nil
}

func parseMigrate(args []string, stderr io.Writer, lookup func(string) (string, bool)) (Config, error) {
	c := newCommandLine("migrate", "migrate [flags]", "Brings the database schema up to date, then exits.", stderr, lookup)
	c.databaseFlags()
	c.logFlags()
	err := c.parseNone(args)
	return c.cfg, err
}
