package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/estateflow/estateflow/internal/cli"
	"github.com/estateflow/estateflow/internal/fdlimit"
	"github.com/estateflow/estateflow/internal/loadtest"
)

// broadcasterListening starts the line by which loadtest-broadcaster tells
// its parent where it listens.
const broadcasterListening = "listening on "

// BroadcasterCommand implements `estateflow loadtest-broadcaster`: the
// trivial broadcaster of `loadtest --baseline`, served until ctx ends.
func BroadcasterCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommandLine("loadtest-broadcaster", "loadtest-broadcaster [--addr HOST:PORT]",
		"Serves the trivial broadcaster that 'estateflow loadtest --baseline' measures the server\n"+
			"against: graphql-transport-ws at /graphql, where each connection's one subscription\n"+
			"receives every broadcast, serialised once; GET /subscribed counts the subscribed\n"+
			"connections, and POST /broadcast?run=ID&messages=N sends a run's N states to all of them.\n"+
			"It has no database and no authentication: it listens on loopback unless told otherwise.\n"+
			"loadtest --baseline starts it by itself; its first line on stdout is\n"+
			"'"+broadcasterListening+"http://HOST:PORT'. It stops on SIGINT or SIGTERM.", stderr, os.LookupEnv)
	addr := c.fs.String("addr", "127.0.0.1:0", "address to listen on (port 0: any free port)")
	if err := c.parseNone(args); err != nil {
		return err
	}
	if before, _, err := fdlimit.Raise(); err != nil {
		fmt.Fprintf(stderr, "loadtest-broadcaster: open files limit %d not raised: %v\n", before, err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return cli.Usage("loadtest-broadcaster: --addr %s: %v", *addr, err)
	}
	if _, err := fmt.Fprintf(stdout, "%shttp://%s\n", broadcasterListening, ln.Addr()); err != nil {
		ln.Close()
		return err
	}
	return loadtest.ServeBroadcaster(ctx, ln)
}

// spawnBroadcaster starts `estateflow loadtest-broadcaster` as a child of
// this process (the same executable) for loadtest --baseline; its stderr
// goes to stderr.
func spawnBroadcaster(stderr io.Writer) func(ctx context.Context) (string, func() error, error) {
	return func(ctx context.Context) (string, func() error, error) {
		exe, err := os.Executable()
		if err != nil {
			return "", nil, fmt.Errorf("finding this executable: %w", err)
		}
		ctx, cancel := context.WithCancel(ctx)
		cmd := exec.CommandContext(ctx, exe, "loadtest-broadcaster", "--addr", "127.0.0.1:0")
		cmd.Stderr = stderr
		// Canceled, it is asked to stop, and killed if it has not within
		// WaitDelay.
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 10 * time.Second
		line := make(chan string, 1)
		cmd.Stdout = &firstLine{line: line}
		if err := cmd.Start(); err != nil {
			cancel()
			return "", nil, fmt.Errorf("starting %s loadtest-broadcaster: %w", exe, err)
		}
		// The process's end, read once by whoever waits: the setup below
		// if it ends before saying where it listens, else stop.
		ended := make(chan error, 1)
		go func() { ended <- cmd.Wait() }()
		stop := func() error {
			cancel()
			err := <-ended
			var exit *exec.ExitError
			if errors.As(err, &exit) && exit.ProcessState != nil && !exit.Exited() {
				return nil // ended by its signal, as asked
			}
			return err
		}
		select {
		case first := <-line:
			url, ok := strings.CutPrefix(strings.TrimSpace(first), broadcasterListening)
			if !ok {
				_ = stop()
				return "", nil, fmt.Errorf("loadtest-broadcaster said %q, want %q…", strings.TrimSpace(first), broadcasterListening)
			}
			return url, stop, nil
		case err := <-ended:
			cancel()
			return "", nil, fmt.Errorf("loadtest-broadcaster ended before it listened: %v", err)
		case <-time.After(30 * time.Second):
			_ = stop()
			return "", nil, errors.New("loadtest-broadcaster did not say where it listens within 30s")
		}
	}
}

// firstLine sends the first line written to it on line, and discards the
// rest.
type firstLine struct {
	line chan<- string
	buf  []byte
	sent bool
}

func (w *firstLine) Write(p []byte) (int, error) {
	if w.sent {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	if i := strings.IndexByte(string(w.buf), '\n'); i >= 0 {
		w.line <- string(w.buf[:i])
		w.buf, w.sent = nil, true
	}
	return len(p), nil
}
