package auth_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/internal/testdb"
)

// TestTrackNeverExceedsMaxStreams opens many streams of one token at once:
// however the calls interleave, no more than MaxStreams may be let in. The
// streams' parent context is slow to answer Done, which Track's derived
// context asks for: work inside Track that a check-then-insert race would
// slip through.
func TestTrackNeverExceedsMaxStreams(t *testing.T) {
	t.Parallel()
	const maxStreams, callers, rounds = 3, 64, 10
	for round := range rounds {
		a := auth.New(nil) // Track keeps its state in memory
		a.MaxStreams = maxStreams
		var (
			admitted, refused atomic.Int32
			start             = make(chan struct{})
			wg                sync.WaitGroup
		)
		for range callers {
			wg.Go(func() {
				<-start
				_, done, err := a.Track(slowDoneContext{context.Background()}, 7, nil)
				switch {
				case errors.Is(err, auth.ErrTooManyStreams):
					refused.Add(1)
				case err != nil:
					t.Errorf("Track: %v", err)
				default:
					admitted.Add(1)
					t.Cleanup(done)
				}
			})
		}
		close(start)
		wg.Wait()
		if admitted.Load() != maxStreams || refused.Load() != callers-maxStreams {
			t.Fatalf("round %d: %d streams admitted and %d refused; want %d and %d",
				round, admitted.Load(), refused.Load(), maxStreams, callers-maxStreams)
		}
	}
}

// slowDoneContext takes a moment to answer Done: a call to Track that asks
// for it is paused there, as the scheduler may pause any call at any point,
// only reliably.
type slowDoneContext struct{ context.Context }

func (c slowDoneContext) Done() <-chan struct{} {
	time.Sleep(time.Millisecond)
	return c.Context.Done()
}

// TestTrackAdmitsAgainOnceAStreamEnds checks that the limit counts open
// streams, not streams ever opened.
func TestTrackAdmitsAgainOnceAStreamEnds(t *testing.T) {
	t.Parallel()
	a := auth.New(nil)
	a.MaxStreams = 1
	_, done, err := a.Track(context.Background(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Track(context.Background(), 1, nil); !errors.Is(err, auth.ErrTooManyStreams) {
		t.Fatalf("second stream: %v, want ErrTooManyStreams", err)
	}
	if _, other, err := a.Track(context.Background(), 2, nil); err != nil {
		t.Fatalf("another token's stream: %v", err)
	} else {
		other()
	}
	done()
	if _, again, err := a.Track(context.Background(), 1, nil); err != nil {
		t.Fatalf("after the first ended: %v", err)
	} else {
		again()
	}
}

// TestFailedLastUsedWriteIsLogged makes the database refuse every update of
// a token: authenticating still succeeds, and the failure is logged.
func TestFailedLastUsedWriteIsLogged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t, database.Options{})
	var logs bytes.Buffer
	a := auth.New(db.Client)
	a.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	secret, err := a.EnsureAdminToken(ctx, "acme", "")
	if err != nil || secret == "" {
		t.Fatalf("EnsureAdminToken: %q, %v", secret, err)
	}
	refuseTokenUpdates(t, db)

	v, err := a.Authenticate(ctx, secret)
	if err != nil || v.TokenID == 0 {
		t.Fatalf("Authenticate: %+v, %v; a failed last-used write must not fail it", v, err)
	}
	if out := logs.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "last used") ||
		!strings.Contains(out, "read-only") {
		t.Fatalf("the failed write was not logged: %q", out)
	}
}

// refuseTokenUpdates installs a trigger that fails every UPDATE of
// api_tokens.
func refuseTokenUpdates(t *testing.T, db *database.DB) {
	t.Helper()
	stmts := []string{`CREATE TRIGGER api_tokens_read_only BEFORE UPDATE ON api_tokens
		BEGIN SELECT RAISE(ABORT, 'api_tokens is read-only'); END`}
	if db.Dialect == dialect.Postgres {
		stmts = []string{
			`CREATE FUNCTION api_tokens_read_only() RETURNS trigger LANGUAGE plpgsql AS
				$$ BEGIN RAISE EXCEPTION 'api_tokens is read-only'; END $$`,
			`CREATE TRIGGER api_tokens_read_only BEFORE UPDATE ON api_tokens
				FOR EACH ROW EXECUTE FUNCTION api_tokens_read_only()`,
		}
	}
	for _, s := range stmts {
		if _, err := db.SQL.ExecContext(context.Background(), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}
