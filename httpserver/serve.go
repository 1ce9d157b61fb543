package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Config sets the server's timeouts.
type Config struct {
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	// WriteTimeout bounds the response to a plain request. Websocket and SSE
	// subscriptions are long-lived and exempt.
	WriteTimeout    time.Duration
	IdleTimeout     time.Duration
	ShutdownTimeout time.Duration
}

// DefaultConfig returns conservative timeouts for an API server.
func DefaultConfig() Config {
	return Config{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ShutdownTimeout:   20 * time.Second,
	}
}

// Serve serves h on ln until ctx ends, then shuts down gracefully: it stops
// accepting connections and waits up to ShutdownTimeout for requests in
// flight before closing the rest.
//
// Plain requests keep running during the grace period; subscriptions (which
// would otherwise hold the shutdown open until it times out) are told to end
// as soon as it starts, and clients resume them on another replica.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, cfg Config, logger *slog.Logger) error {
	streams := &streamSet{cancels: map[*context.CancelFunc]struct{}{}}
	defer streams.endAll()
	srv := &http.Server{
		Handler:           withDeadlines(h, cfg, streams),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		// Requests must not die the moment the signal arrives, so their
		// base context is not ctx.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(streams.endAll)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down http server", "grace", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	if serveErr := <-errc; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", serveErr)
	}
	return err
}

// streamSet holds the cancel functions of the open streams, to end them
// all when shutdown starts.
type streamSet struct {
	mu      sync.Mutex
	cancels map[*context.CancelFunc]struct{}
	ended   bool
}

func (s *streamSet) add(cancel *context.CancelFunc) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return false
	}
	s.cancels[cancel] = struct{}{}
	return true
}

func (s *streamSet) remove(cancel *context.CancelFunc) {
	s.mu.Lock()
	delete(s.cancels, cancel)
	s.mu.Unlock()
}

func (s *streamSet) endAll() {
	s.mu.Lock()
	s.ended = true
	cancels := s.cancels
	s.cancels = map[*context.CancelFunc]struct{}{}
	s.mu.Unlock()
	for c := range cancels {
		(*c)()
	}
}

// withDeadlines applies ReadTimeout and WriteTimeout to plain requests, and
// ties streaming ones to the stream set, which shutdown ends.
func withDeadlines(h http.Handler, cfg Config, streams *streamSet) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isStreaming(r) {
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			if !streams.add(&cancel) {
				http.Error(w, "shutting down", http.StatusServiceUnavailable)
				return
			}
			defer streams.remove(&cancel)
			h.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		rc := http.NewResponseController(w)
		now := time.Now()
		if cfg.ReadTimeout > 0 {
			_ = rc.SetReadDeadline(now.Add(cfg.ReadTimeout))
		}
		if cfg.WriteTimeout > 0 {
			_ = rc.SetWriteDeadline(now.Add(cfg.WriteTimeout))
		}
		h.ServeHTTP(w, r)
	})
}

// isStreaming reports whether r opens a subscription: a websocket upgrade or
// a server-sent-events stream.
func isStreaming(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") ||
		strings.Contains(r.Header.Get("Accept"), "text/event-stream")
}
