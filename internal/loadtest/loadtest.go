package loadtest

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"
)

// pollInterval is how often the drain asks for the state of the runs not
// yet finished.
const pollInterval = time.Second

// finalPollTimeout bounds the last reading of the runs' states after the
// test was interrupted.
const finalPollTimeout = 15 * time.Second

// Run performs a load test against cfg.Server and returns its report.
// Progress lines go to cfg.Progress. If ctx ends early (an interrupt),
// Run stops starting, skips the drain and reports what it measured.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	a := newAPI(&cfg)
	defer a.close()
	errs := newErrorCounter()
	pkgID, err := a.packageID(ctx, cfg.PackageKey)
	if err != nil {
		return nil, err
	}
	props := cfg.Properties
	if len(props) == 0 {
		if props, err = a.propertyIDs(ctx); err != nil {
			return nil, err
		}
	}
	rep := &Report{Target: cfg.Server, Via: cfg.Via, Package: cfg.PackageKey, Server: &ServerStats{}}
	metricsClient := &http.Client{Timeout: cfg.RequestTimeout}
	before, scrapeErr := scrape(ctx, metricsClient, cfg.MetricsURL, cfg.MetricsToken)
	beforeAt := time.Now()

	reg := newRegistry()
	nListeners := cfg.runsUpdatedSubscribers()
	fl := newFleet(wsURL(cfg.Server), cfg.Token, nListeners, cfg.Subscribers-nListeners, cfg.ConnectConcurrency, reg, errs)
	st := &starters{cfg: &cfg, api: a, reg: reg, fleet: fl, errs: errs, packageID: pkgID, properties: props}

	subCtx, stopSubs := context.WithCancel(ctx)
	pr := newProgress(&cfg, st, fl, reg, errs)
	pr.start(subCtx)
	defer pr.stop()

	pr.setPhase("connecting")
	fl.start(subCtx)
	defer func() {
		stopSubs()
		fl.wait()
	}()

	var connected serverSample
	if scrapeErr == nil && cfg.Subscribers > 0 {
		// What the subscribers hold while idle, before any run.
		connected, _ = scrape(ctx, metricsClient, cfg.MetricsURL, cfg.MetricsToken)
	}

	pr.setPhase("load")
	loadStart := time.Now()
	loadCtx, stopLoad := context.WithTimeout(ctx, cfg.Duration)
	var mem *memorySampler
	if scrapeErr == nil {
		mem = sampleMemory(loadCtx, metricsClient, cfg.MetricsURL, cfg.MetricsToken, cfg.ProgressInterval)
	}
	st.run(loadCtx)
	stopLoad()
	loadEnd := time.Now()
	var samples []MemorySample
	if mem != nil {
		samples = mem.wait()
	}

	pr.setPhase("drain")
	drainCtx, stopDrain := context.WithTimeout(ctx, cfg.Drain)
	reg.waitFinished(drainCtx, a, errs, pollInterval, pr.setUnfinished)
	stopDrain()
	drainEnd := time.Now()
	if ctx.Err() != nil {
		rep.Interrupted = true
		final, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalPollTimeout)
		_, _ = reg.poll(final, a, errs)
		cancel()
	}

	pr.setPhase("settle")
	finished := reg.finished()
	fl.settle(ctx, finished, cfg.Settle)

	if scrapeErr == nil {
		after, err := scrape(ctx, metricsClient, cfg.MetricsURL, cfg.MetricsToken)
		if err == nil {
			cpu := after.cpuSeconds - before.cpuSeconds
			rep.Server = &ServerStats{RSSBeforeBytes: before.rss, RSSConnectedBytes: connected.rss, RSSAfterBytes: after.rss, CPUSeconds: cpu,
				CPUPercent: 100 * cpu / time.Since(beforeAt).Seconds(), Memory: memoryStats(samples, cfg.Warmup)}
		} else {
			scrapeErr = err
		}
	}
	if scrapeErr != nil {
		rep.Server.Error = scrapeErr.Error()
	}
	connectedAtEnd := fl.connected.Load()
	stopSubs()
	fl.wait()
	pr.stop()

	rep.LoadSeconds = loadEnd.Sub(loadStart).Seconds()
	rep.DrainSeconds = drainEnd.Sub(loadEnd).Seconds()
	rep.Runs = runStats(reg.snapshot(), rep.LoadSeconds)
	rep.Runs.Behind = st.behind.Load()
	rep.Runs.BackedOff = st.backoffs.Load()
	rep.StartLatency = st.startHist.percentiles()
	if cfg.QueriesPerSecond > 0 {
		rep.Queries = &QueryStats{Count: st.queries.Load(), PerSec: float64(st.queries.Load()) / rep.LoadSeconds, Latency: st.queryHist.percentiles()}
	}
	rep.Delivery = fl.stats(loadStart, finished)
	rep.Delivery.ConnectedAtEnd = connectedAtEnd
	rep.Errors, rep.ErrorSamples = errs.snapshot()

	if cfg.Baseline && ctx.Err() == nil {
		perRun := 1
		if rep.Runs.Started > 0 && nListeners > 0 {
			perRun = max(1, int(math.Round(float64(fl.listenerMessages())/float64(nListeners)/float64(rep.Runs.Started))))
		}
		base, err := RunBaseline(ctx, BaselineConfig{
			Subscribers: nListeners, Runs: max(rep.Runs.Started, 1), MessagesPerRun: perRun,
			ConnectConcurrency: cfg.ConnectConcurrency, Settle: max(cfg.Settle, cfg.Drain), Progress: cfg.Progress,
			StartBroadcaster: cfg.StartBroadcaster,
		})
		if err != nil {
			return rep, fmt.Errorf("the baseline: %w", err)
		}
		rep.Baseline = base
		rep.Ratios = ratios(rep.Delivery, base.Delivery)
	}
	return rep, nil
}

// runStats counts the runs by their last polled state.
func runStats(runs []runState, loadSeconds float64) RunStats {
	s := RunStats{Started: len(runs)}
	var first, last time.Time
	for _, r := range runs {
		switch r.status {
		case "SUCCEEDED":
			s.Succeeded++
		case "FAILED":
			s.Failed++
		case "CANCELED":
			s.Canceled++
		default:
			s.Unfinished++
			continue
		}
		s.Completed++
		if first.IsZero() || (!r.createdAt.IsZero() && r.createdAt.Before(first)) {
			first = r.createdAt
		}
		if r.finishedAt.After(last) {
			last = r.finishedAt
		}
	}
	if loadSeconds > 0 {
		s.StartedPerSec = float64(s.Started) / loadSeconds
	}
	if span := last.Sub(first).Seconds(); s.Completed > 0 && span > 0 {
		s.CompletedPerSec = float64(s.Completed) / span
	}
	return s
}

func ratios(server, base DeliveryStats) *Ratios {
	div := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	return &Ratios{
		MessagesPerSec: div(server.MessagesPerSec, base.MessagesPerSec),
		DeliveryP50:    div(server.Latency.P50, base.Latency.P50),
		DeliveryP99:    div(server.Latency.P99, base.Latency.P99),
	}
}

// settle waits, at most timeout, until every listener has the terminal
// state of every finished run and every watcher has followed the runs
// handed to it.
func (f *fleet) settle(ctx context.Context, finished []int, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		done := true
		for _, l := range f.listeners {
			l.resolve(f.reg)
			if !l.hasAll(finished) {
				done = false
				break
			}
		}
		for _, w := range f.watchers {
			if !w.idle() {
				done = false
				break
			}
		}
		if done {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (f *fleet) listenerMessages() int64 {
	var n int64
	for _, l := range f.listeners {
		l.mu.Lock()
		n += l.messages
		l.mu.Unlock()
	}
	return n
}

// stats sums the subscribers' measurements once they have stopped.
func (f *fleet) stats(loadStart time.Time, finished []int) DeliveryStats {
	d := DeliveryStats{Subscribers: len(f.listeners) + len(f.watchers), RunsUpdated: len(f.listeners), RunEvents: len(f.watchers), RunsSkipped: f.skipped.Load()}
	var all histogram
	var last time.Time
	add := func(s *subscriberStats) {
		all.merge(&s.hist)
		d.Messages += s.messages
		d.Reconnects += s.reconnects
		if s.lastArrival.After(last) {
			last = s.lastArrival
		}
	}
	for _, l := range f.listeners {
		l.resolve(f.reg)
		add(&l.subscriberStats)
		if len(finished) > 0 {
			d.Evaluated++
			if l.hasAll(finished) {
				d.Complete++
				d.RunsUpdatedComplete++
			}
		}
	}
	for _, w := range f.watchers {
		add(&w.subscriberStats)
		d.RunsFollowed += w.followed
		if w.followed > 0 {
			d.Evaluated++
			if w.complete == w.followed {
				d.Complete++
				d.RunEventsComplete++
			}
		}
	}
	d.Latency = all.percentiles()
	if span := last.Sub(loadStart).Seconds(); span > 0 {
		d.MessagesPerSec = float64(d.Messages) / span
	}
	if d.Evaluated > 0 {
		d.ShareComplete = float64(d.Complete) / float64(d.Evaluated)
	}
	return d
}

// progress writes a line every cfg.ProgressInterval while the test runs.
type progress struct {
	cfg   *Config
	st    *starters
	fl    *fleet
	reg   *registry
	errs  *errorCounter
	begin time.Time

	mu         sync.Mutex
	phase      string
	unfinished int

	stopOnce sync.Once
	quit     chan struct{}
	done     chan struct{}
}

func newProgress(cfg *Config, st *starters, fl *fleet, reg *registry, errs *errorCounter) *progress {
	return &progress{cfg: cfg, st: st, fl: fl, reg: reg, errs: errs, begin: time.Now(), unfinished: -1,
		quit: make(chan struct{}), done: make(chan struct{})}
}

func (p *progress) setPhase(s string) {
	p.mu.Lock()
	p.phase = s
	p.mu.Unlock()
}

func (p *progress) setUnfinished(n int) {
	p.mu.Lock()
	p.unfinished = n
	p.mu.Unlock()
}

func (p *progress) start(ctx context.Context) {
	if p.cfg.Progress == nil {
		close(p.done)
		return
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(p.cfg.ProgressInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-p.quit:
				return
			case <-t.C:
				p.line()
			}
		}
	}()
}

// stop ends the progress lines; it may be called more than once.
func (p *progress) stop() {
	p.stopOnce.Do(func() { close(p.quit) })
	<-p.done
}

func (p *progress) line() {
	p.mu.Lock()
	phase, unfinished := p.phase, p.unfinished
	p.mu.Unlock()
	elapsed := time.Since(p.begin).Seconds()
	started := p.st.started.Load()
	line := fmt.Sprintf("loadtest %5.0fs %-10s started %d (%.1f/s)", elapsed, phase, started, float64(started)/elapsed)
	if unfinished >= 0 {
		line += fmt.Sprintf(", %d unfinished", unfinished)
	}
	if p.cfg.QueriesPerSecond > 0 {
		line += fmt.Sprintf(", %d queries", p.st.queries.Load())
	}
	line += fmt.Sprintf("; %d/%d websockets open, %d messages; %d errors\n",
		p.fl.connected.Load(), len(p.fl.listeners)+len(p.fl.watchers), p.fl.messages.Load(), p.errs.total())
	_, _ = fmt.Fprint(p.cfg.Progress, line)
}
