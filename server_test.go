package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/estateflow/estateflow/internal/testdb"
)

func TestMigrateCommandAndHelp(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "--database-url", testdb.URL(t)}, &stdout, &stderr); err != nil {
		t.Fatalf("migrate: %v (%s)", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "up to date") {
		t.Fatalf("migrate printed %q", stdout.String())
	}
	stderr.Reset()
	if err := run(context.Background(), []string{"--help"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"DATABASE_URL", "ESTATEFLOW_ADDR", "migrate", "-demo"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("--help does not mention %s", want)
		}
	}
	if err := run(context.Background(), []string{"frobnicate"}, &stdout, &stderr); err == nil {
		t.Fatal("an unknown command was accepted")
	}
}

// TestHelp checks the two ways to a subcommand's help, and the list of
// subcommands.
func TestHelp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var list, stderr bytes.Buffer
	if err := run(ctx, []string{"help"}, &list, &stderr); err != nil {
		t.Fatalf("help: %v", err)
	}
	for _, name := range []string{"serve", "migrate", "import", "token", "cma"} {
		if !strings.Contains(list.String(), "\n  "+name+" ") {
			t.Errorf("help does not list %s:\n%s", name, list.String())
		}
	}

	var viaHelp, viaFlag bytes.Buffer
	if err := run(ctx, []string{"help", "token"}, &viaHelp, &stderr); err != nil {
		t.Fatalf("help token: %v", err)
	}
	if err := run(ctx, []string{"token", "--help"}, io.Discard, &viaFlag); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("token --help: %v, want flag.ErrHelp (exit 0)", err)
	}
	if viaHelp.String() != viaFlag.String() || !strings.Contains(viaHelp.String(), "-user") || strings.Contains(viaHelp.String(), "-addr") {
		t.Fatalf("help token printed:\n%s\ntoken --help printed:\n%s", viaHelp.String(), viaFlag.String())
	}
	if err := run(ctx, []string{"help", "frobnicate"}, io.Discard, io.Discard); err == nil {
		t.Fatal("help accepted an unknown command")
	}
}
