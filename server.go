// Command estateflow serves EstateFlow's GraphQL API.
//
//	go run .                serve on :8080 with an embedded SQLite database
//	go run . migrate        only bring the database schema up to date
//	go run . help           list the subcommands
//	go run . help serve     list a subcommand's flags and their environment variables
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // follow-ups are scheduled in each organization's time zone, even where the system has no zone files

	"github.com/estateflow/estateflow/internal/app"
)

func main() {
	// gqlgen's transports report a few failures through the standard log
	// package, bypassing slog; they get the same scrubbing.
	log.SetOutput(app.ScrubbingWriter(os.Stderr))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "estateflow:", err)
		os.Exit(exitCode(err))
	}
}

// exitCode is the code an error carries (the client commands' codes, see
// 'estateflow help run'), or 1.
func exitCode(err error) int {
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		return coded.ExitCode()
	}
	return 1
}

// run dispatches to a subcommand; with none, or only flags, it serves.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if name == "help" {
		return help(ctx, args, stdout)
	}
	for _, c := range app.Commands() {
		if c.Name == name {
			return c.Run(ctx, args, stdout, stderr)
		}
	}
	listCommands(stderr)
	return fmt.Errorf("unknown command %q", name)
}

// help implements `estateflow help [SUBCOMMAND]`, on stdout: asked for, it
// is the output, not a diagnostic.
func help(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		listCommands(stdout)
		return nil
	}
	for _, c := range app.Commands() {
		if c.Name == args[0] {
			if err := c.Run(ctx, []string{"--help"}, stdout, stdout); !errors.Is(err, flag.ErrHelp) {
				return err
			}
			return nil
		}
	}
	listCommands(stdout)
	return fmt.Errorf("help: unknown command %q", args[0])
}

func listCommands(w io.Writer) {
	fmt.Fprint(w, "Usage: estateflow [command] [flags]\n\nCommands:\n")
	for _, c := range app.Commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.Name, c.Summary)
	}
	fmt.Fprint(w, "\nRun 'estateflow help COMMAND' or 'estateflow COMMAND --help' for a command's flags.\n")
}
