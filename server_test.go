package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
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
