package loadtest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/estateflow/estateflow/internal/cli"
)

// starters start runs, at a rate or as fast as a fixed number of them can
// one after another, and mix in list queries.
type starters struct {
	cfg        *Config
	api        *api
	reg        *registry
	fleet      *fleet
	errs       *errorCounter
	packageID  string
	properties []string

	claimed atomic.Int64 // starts begun or succeeded, against cfg.Runs
	started atomic.Int64 // starts that answered a run
	behind  atomic.Int64 // rate ticks skipped: every starter was busy
	// backoffs counts refusals after which a starter waited the
	// Retry-After it was given.
	backoffs atomic.Int64
	queries  atomic.Int64 // list queries answered

	mu        sync.Mutex
	startHist histogram
	queryHist histogram
}

// run starts runs until ctx ends or cfg.Runs have been started, and
// returns once every start and query in flight has answered.
func (s *starters) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if s.cfg.QueriesPerSecond > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runQueries(ctx)
		}()
	}
	if s.cfg.Rate > 0 {
		s.atRate(ctx, cancel)
	} else {
		s.atConcurrency(ctx, cancel)
	}
	cancel() // the queries stop with the starts
	wg.Wait()
}

// claim takes the next start, or reports that cfg.Runs are started or in
// flight. A start that fails releases its claim, so that --runs counts
// runs started, not attempts.
func (s *starters) claim() bool {
	if s.cfg.Runs == 0 {
		return true
	}
	for {
		c := s.claimed.Load()
		if c >= int64(s.cfg.Runs) {
			return false
		}
		if s.claimed.CompareAndSwap(c, c+1) {
			return true
		}
	}
}

func (s *starters) release() {
	if s.cfg.Runs > 0 {
		s.claimed.Add(-1)
	}
}

func (s *starters) atConcurrency(ctx context.Context, done context.CancelFunc) {
	var wg sync.WaitGroup
	for w := range s.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := w; ctx.Err() == nil && s.claim(); n++ {
				s.startOne(ctx, n)
			}
		}()
	}
	wg.Wait()
	done()
}

// atRate hands a start to an idle starter each 1/rate; a tick with every
// starter busy is skipped and counted as behind.
func (s *starters) atRate(ctx context.Context, done context.CancelFunc) {
	tokens := make(chan int) // unbuffered: a token goes only to an idle starter
	var wg sync.WaitGroup
	for range s.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case n := <-tokens:
					s.startOne(ctx, n)
				}
			}
		}()
	}
	defer wg.Wait()
	period := max(time.Duration(float64(time.Second)/s.cfg.Rate), time.Millisecond)
	t := time.NewTicker(period)
	defer t.Stop()
	begin, issued := time.Now(), 0
	for {
		due := int(time.Since(begin).Seconds()*s.cfg.Rate) + 1 - issued
		for ; due > 0; due-- {
			if !s.claim() {
				done()
				return
			}
			select {
			case tokens <- issued:
			default:
				s.behind.Add(1)
			}
			issued++
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// startOne starts the n-th run, on the properties in turn, registers it
// and hands it to its watchers.
func (s *starters) startOne(ctx context.Context, n int) {
	prop := s.properties[n%len(s.properties)]
	var id string
	took, err := timed(func() (err error) {
		id, err = s.api.startRun(ctx, s.cfg.Via, s.packageID, prop)
		return err
	})
	if err != nil {
		s.errs.add(ctx, "startRun", err)
		s.release()
		s.backOff(ctx, err)
		return
	}
	s.mu.Lock()
	s.startHist.add(took)
	s.mu.Unlock()
	s.started.Add(1)
	s.fleet.assign(s.reg.add(id), s.cfg.WatchersPerRun)
}

// queryWorkers bounds the list queries in flight.
const queryWorkers = 8

func (s *starters) runQueries(ctx context.Context) {
	tokens := make(chan struct{})
	var wg sync.WaitGroup
	for range queryWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tokens:
				}
				took, err := timed(func() error { return s.api.list(ctx) })
				if err != nil {
					s.errs.add(ctx, "list query", err)
					continue
				}
				s.queries.Add(1)
				s.mu.Lock()
				s.queryHist.add(took)
				s.mu.Unlock()
			}
		}()
	}
	defer wg.Wait()
	t := time.NewTicker(max(time.Duration(float64(time.Second)/s.cfg.QueriesPerSecond), time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			select {
			case tokens <- struct{}{}:
			default: // every query worker busy: the tick is skipped
			}
		}
	}
}

// backOff waits as long as a refusal asked (Retry-After), as a client
// should; a load test whose starters retried at once would measure how
// fast the server refuses, not how fast it works. It waits at most until
// the load ends.
func (s *starters) backOff(ctx context.Context, err error) {
	var refusal *cli.APIError
	if !errors.As(err, &refusal) || refusal.RetryAfter <= 0 {
		return
	}
	s.backoffs.Add(1)
	t := time.NewTimer(refusal.RetryAfter)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
