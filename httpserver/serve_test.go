package httpserver_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/httpserver"
)

// serving runs Serve on a loopback listener until the returned cancel is
// called; the returned channel yields Serve's result.
func serving(t *testing.T, h http.Handler, cfg httpserver.Config) (url string, logs *logBuffer, cancel context.CancelFunc, served <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logger, logs := newLogger()
	ctx, cancel := context.WithCancel(context.Background())
	errc, done := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(done)
		errc <- httpserver.Serve(ctx, ln, h, cfg, logger)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return "http://" + ln.Addr().String(), logs, cancel, errc
}

func waitServe(t *testing.T, served <-chan error, within time.Duration) error {
	t.Helper()
	select {
	case err := <-served:
		return err
	case <-time.After(within):
		t.Fatalf("Serve still running %v after its context ended", within)
		return nil
	}
}

// waitRefusing waits for the server to stop accepting connections, which
// is the first thing a shutdown does.
func waitRefusing(t *testing.T, url string) {
	t.Helper()
	addr := strings.TrimPrefix(url, "http://")
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		conn.Close()
	}
	t.Fatal("the server still accepts connections after its context ended")
}

type result struct {
	status int
	body   string
	err    error
}

func get(url string, header http.Header) <-chan result {
	out := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			out <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		out <- result{status: resp.StatusCode, body: string(body), err: err}
	}()
	return out
}

func TestServeServesUntilTheContextEnds(t *testing.T) {
	t.Parallel()
	url, _, cancel, served := serving(t, okHandler("hello"), httpserver.DefaultConfig())
	if r := <-get(url, nil); r.err != nil || r.status != 200 || r.body != "hello" {
		t.Fatalf("got %+v", r)
	}
	cancel()
	if err := waitServe(t, served, 5*time.Second); err != nil {
		t.Fatalf("Serve after a clean shutdown: %v", err)
	}
	waitRefusing(t, url)
}

func TestServeLetsARequestInFlightFinish(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		// The shutdown signal does not cancel the requests it waits for.
		if err := r.Context().Err(); err != nil {
			t.Errorf("request context ended with the server's: %v", err)
		}
		_, _ = io.WriteString(w, "finished")
	})
	cfg := httpserver.DefaultConfig()
	cfg.ShutdownTimeout = 10 * time.Second
	url, logs, cancel, served := serving(t, h, cfg)

	response := get(url, nil)
	<-entered
	cancel()
	waitRefusing(t, url)
	select {
	case err := <-served:
		t.Fatalf("Serve returned (%v) with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)

	if r := <-response; r.err != nil || r.status != 200 || r.body != "finished" {
		t.Fatalf("in-flight request got %+v", r)
	}
	if err := waitServe(t, served, 5*time.Second); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if recs := logs.records(t, "shutting down http server"); len(recs) != 1 {
		t.Errorf("%d shutdown records, want 1", len(recs))
	}
}

// Subscriptions would hold a shutdown open until its timeout; they are
// ended as soon as it starts, and clients resume them elsewhere.
func TestServeEndsStreamsWhenShutdownStarts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header http.Header
	}{
		{"server-sent events", http.Header{"Accept": {"text/event-stream"}}},
		{"server-sent events among other types", http.Header{"Accept": {"application/json, text/event-stream"}}},
		{"websocket upgrade", http.Header{"Upgrade": {"WebSocket"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ended := make(chan error, 1)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "data: subscribed\n\n")
				_ = http.NewResponseController(w).Flush()
				<-r.Context().Done()
				ended <- r.Context().Err()
			})
			cfg := httpserver.DefaultConfig()
			cfg.ShutdownTimeout = time.Minute
			url, _, cancel, served := serving(t, h, cfg)

			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header = tt.header
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body := bufio.NewReader(resp.Body)
			if line, err := body.ReadString('\n'); err != nil || line != "data: subscribed\n" {
				t.Fatalf("first line %q, %v", line, err)
			}
			cancel()
			if err := waitServe(t, served, 5*time.Second); err != nil {
				t.Fatalf("Serve: %v", err)
			}
			if err := <-ended; !errors.Is(err, context.Canceled) {
				t.Fatalf("stream's context: %v", err)
			}
			if rest, _ := io.ReadAll(body); len(strings.TrimSpace(string(rest))) != 0 {
				t.Fatalf("stream went on with %q", rest)
			}
		})
	}
}

func TestServeCutsOffRequestsPastTheShutdownTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	entered := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	cfg := httpserver.DefaultConfig()
	cfg.ShutdownTimeout = 200 * time.Millisecond
	url, _, cancel, served := serving(t, h, cfg)
	response := get(url, nil)
	<-entered
	start := time.Now()
	cancel()
	_ = waitServe(t, served, 5*time.Second)
	if waited := time.Since(start); waited < cfg.ShutdownTimeout {
		t.Errorf("Serve returned after %v, before the %v grace period", waited, cfg.ShutdownTimeout)
	}
	select {
	case r := <-response:
		if r.err == nil {
			t.Fatalf("a request cut off by the shutdown got a response: %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cut-off request's connection stayed open")
	}
}

func TestServeReturnsListenerErrors(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	logger, _ := newLogger()
	errc := make(chan error, 1)
	go func() {
		errc <- httpserver.Serve(context.Background(), ln, okHandler("x"), httpserver.DefaultConfig(), logger)
	}()
	select {
	case err := <-errc:
		if err == nil || !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Serve on a closed listener: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve on a closed listener did not return")
	}
}

// WriteTimeout bounds plain responses; a subscription outlives it.
func TestServeWriteTimeoutSparesStreams(t *testing.T) {
	t.Parallel()
	const writeTimeout = 200 * time.Millisecond
	tests := []struct {
		name     string
		header   http.Header
		wantBody bool
	}{
		{"plain request", nil, false},
		{"server-sent events", http.Header{"Accept": {"text/event-stream"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(2 * writeTimeout)
				_, _ = io.WriteString(w, "late")
			})
			cfg := httpserver.DefaultConfig()
			cfg.WriteTimeout = writeTimeout
			url, _, _, _ := serving(t, h, cfg)
			r := <-get(url, tt.header)
			if got := r.err == nil && r.body == "late"; got != tt.wantBody {
				t.Fatalf("response %+v; want it delivered: %v", r, tt.wantBody)
			}
		})
	}
}
