package logscrub

import (
	"context"
	"io"
	"log/slog"
	"testing"
)

// BenchmarkAccessLog logs httpserver.AccessLog's record, which has nothing
// to scrub, with and without the scrubber, into handlers that write
// nothing: the text and JSON handlers, and one that does no work (the
// scrubber's own cost).
func BenchmarkAccessLog(b *testing.B) {
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		h    slog.Handler
	}{
		{"nop/unwrapped", nopHandler{}},
		{"nop/scrubbed", New(nopHandler{})},
		{"text/unwrapped", slog.NewTextHandler(io.Discard, nil)},
		{"text/scrubbed", New(slog.NewTextHandler(io.Discard, nil))},
		{"json/unwrapped", slog.NewJSONHandler(io.Discard, nil)},
		{"json/scrubbed", New(slog.NewJSONHandler(io.Discard, nil))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			logger := slog.New(bc.h)
			b.ReportAllocs()
			for b.Loop() {
				accessLog(logger, ctx)
			}
		})
	}
}

// BenchmarkScrubbed logs a record that needs scrubbing: an error that
// carries an email address.
func BenchmarkScrubbed(b *testing.B) {
	logger := slog.New(New(slog.NewTextHandler(io.Discard, nil)))
	err := io.ErrUnexpectedEOF
	b.ReportAllocs()
	for b.Loop() {
		logger.Error("graphql: internal error", "request_id", "5f3a9c2e8b7d6a14", "path", "createClient",
			"err", err, "to", "ana@example.com")
	}
}

type nopHandler struct{}

func (nopHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (nopHandler) Handle(context.Context, slog.Record) error { return nil }
func (h nopHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h nopHandler) WithGroup(string) slog.Handler           { return h }
