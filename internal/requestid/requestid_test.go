package requestid_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/internal/logscrub"
	"github.com/estateflow/estateflow/internal/requestid"
)

func TestHandlerAddsTheContextsRequestID(t *testing.T) {
	var out bytes.Buffer
	logger := slog.New(requestid.NewHandler(slog.NewTextHandler(&out, nil)))

	logger.InfoContext(requestid.NewContext(context.Background(), "req-42"), "with", "k", "v")
	logger.InfoContext(context.Background(), "without")
	logger.Info("no context")
	logger.With("component", "x").ErrorContext(requestid.NewContext(context.Background(), "req-43"), "derived")

	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines:\n%s", len(lines), out.String())
	}
	if !strings.Contains(lines[0], "msg=with k=v request_id=req-42") {
		t.Errorf("a record logged with a request's context lacks its ID: %s", lines[0])
	}
	for _, line := range lines[1:3] {
		if strings.Contains(line, "request_id") {
			t.Errorf("a record logged without a request has a request_id: %s", line)
		}
	}
	if !strings.Contains(lines[3], "component=x") || !strings.Contains(lines[3], "request_id=req-43") {
		t.Errorf("a logger made With attributes lost the request ID: %s", lines[3])
	}
}

func TestFromContext(t *testing.T) {
	if id, ok := requestid.FromContext(context.Background()); ok || id != "" {
		t.Fatalf("a bare context has request ID %q", id)
	}
	if _, ok := requestid.FromContext(requestid.NewContext(context.Background(), "")); ok {
		t.Fatal("an empty ID counts as one")
	}
	if id, ok := requestid.FromContext(requestid.NewContext(context.Background(), "abc")); !ok || id != "abc" {
		t.Fatalf("FromContext = %q, %v", id, ok)
	}
}

// A client chooses its request ID; one shaped like a phone number must be
// scrubbed like any other attribute, which it is when this handler wraps
// logscrub's.
func TestRequestIDIsScrubbed(t *testing.T) {
	var out bytes.Buffer
	logger := slog.New(requestid.NewHandler(logscrub.New(slog.NewTextHandler(&out, nil))))
	logger.InfoContext(requestid.NewContext(context.Background(), "512.555.0134"), "http request")
	if strings.Contains(out.String(), "555.0134") || !strings.Contains(out.String(), "request_id=") {
		t.Fatalf("the request ID was not scrubbed: %s", out.String())
	}
}

// The record a caller hands on is not changed under it: a second handler
// given the same record must not see the ID twice.
func TestHandleDoesNotChangeTheCallersRecord(t *testing.T) {
	var out bytes.Buffer
	h := requestid.NewHandler(slog.NewTextHandler(&out, nil))
	ctx := requestid.NewContext(context.Background(), "req-1")
	r := slog.NewRecord(time.Time{}, slog.LevelInfo, "twice", 0)
	// More attributes than a record holds inline, so that they live in a
	// slice the copies share.
	// (Added one by one, that slice ends up with room to spare.)
	for i := range 8 {
		r.AddAttrs(slog.Int(fmt.Sprint("a", i), i))
	}
	for range 2 {
		if err := h.Handle(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(out.String(), "request_id=req-1"); n != 2 || r.NumAttrs() != 8 || strings.Contains(out.String(), "!BUG") {
		t.Fatalf("%d request IDs, %d attributes left on the record:\n%s", n, r.NumAttrs(), out.String())
	}
}
