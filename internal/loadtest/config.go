package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// Via says which API starts runs.
const (
	ViaGraphQL = "graphql"
	ViaREST    = "rest"
)

// Config is one load test. Zero values take the defaults of
// `estateflow loadtest` (see Defaults).
type Config struct {
	// Server is the server's base URL, such as http://localhost:8080.
	Server string
	// Token is the API token of the organization the runs start in.
	Token string
	// MetricsURL is where the server's Prometheus metrics are (default
	// Server + /metrics); MetricsToken is its bearer token, if any.
	MetricsURL, MetricsToken string

	// Subscribers is the number of websocket subscribers, each on its own
	// connection; RunsUpdatedShare (0 to 1) of them listen to runsUpdated,
	// the others follow started runs through runEvents, WatchersPerRun
	// of them per run.
	Subscribers      int
	RunsUpdatedShare float64
	WatchersPerRun   int
	// ConnectConcurrency bounds the websockets being opened at once.
	ConnectConcurrency int

	// Rate is the target of runs started per second; 0 means as many as
	// Concurrency starters start one after another. With a rate,
	// Concurrency bounds the starts in flight (late ticks are skipped and
	// counted as behind).
	Rate        float64
	Concurrency int
	// Runs stops starting once this many runs have started (0: no limit
	// but Duration); failed starts do not count.
	Runs int
	// Via is ViaGraphQL or ViaREST.
	Via string
	// PackageKey is the package started on each run; Properties the IDs
	// of the properties the runs are spread over (default: the first 100
	// properties the token sees).
	PackageKey string
	Properties []string
	// QueriesPerSecond mixes list queries (properties with their run
	// counts) into the load; 0 for none.
	QueriesPerSecond float64

	// Duration is how long runs are started; Drain how long the test then
	// waits for them to finish; Settle how long it waits for subscribers
	// to receive the last events after that.
	Duration, Drain, Settle time.Duration
	// ProgressInterval is how often a progress line is written to
	// Progress (nil: none).
	ProgressInterval time.Duration
	Progress         io.Writer
	// RequestTimeout bounds one HTTP request.
	RequestTimeout time.Duration
	// Baseline runs the trivial broadcaster after the server, with as
	// many subscribers as listened to runsUpdated and the same volume of
	// messages, and reports both side by side.
	Baseline bool
	// Warmup is the start of the load phase that the memory figures leave
	// out (0: a fifth of Duration, at most a minute).
	Warmup time.Duration
	// StartBroadcaster starts the baseline's broadcaster (see
	// BaselineConfig); nil serves it in this process.
	StartBroadcaster func(ctx context.Context) (url string, stop func() error, err error)
}

// Defaults are the settings of `estateflow loadtest` without flags.
func Defaults() Config {
	return Config{
		Server:             "http://localhost:8080",
		Subscribers:        100,
		RunsUpdatedShare:   0.5,
		WatchersPerRun:     1,
		ConnectConcurrency: 32,
		Concurrency:        10,
		Via:                ViaGraphQL,
		PackageKey:         "new-listing",
		Duration:           30 * time.Second,
		Drain:              2 * time.Minute,
		Settle:             10 * time.Second,
		ProgressInterval:   5 * time.Second,
		RequestTimeout:     30 * time.Second,
	}
}

// Check fills the derived defaults and refuses settings that cannot work;
// the error names the flag at fault.
func (c *Config) Check() error {
	u, err := url.Parse(c.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--server %q: want an http:// or https:// URL", c.Server)
	}
	c.Server = strings.TrimRight(c.Server, "/")
	if c.MetricsURL == "" {
		c.MetricsURL = c.Server + "/metrics"
	}
	d := Defaults()
	switch {
	case c.Subscribers < 0:
		return fmt.Errorf("--subscribers must be 0 or more")
	case c.RunsUpdatedShare < 0 || c.RunsUpdatedShare > 1:
		return fmt.Errorf("--runs-updated-share must be between 0 and 1")
	case c.Rate < 0:
		return fmt.Errorf("--rate must be 0 or more")
	case c.Concurrency < 0:
		return fmt.Errorf("--concurrency must be 0 or more")
	case c.Runs < 0:
		return fmt.Errorf("--runs must be 0 or more")
	case c.QueriesPerSecond < 0:
		return fmt.Errorf("--queries-per-second must be 0 or more")
	case c.Via != ViaGraphQL && c.Via != ViaREST:
		return fmt.Errorf("--via must be graphql or rest")
	case c.Duration <= 0:
		return fmt.Errorf("--duration must be positive")
	case c.Warmup < 0 || c.Warmup >= c.Duration:
		return fmt.Errorf("--warmup must be 0 or more and shorter than --duration")
	case c.Drain < 0 || c.Settle < 0:
		return fmt.Errorf("--drain and --settle must be 0 or more")
	case c.PackageKey == "":
		return fmt.Errorf("--package must name a package key")
	case c.Baseline && c.runsUpdatedSubscribers() == 0:
		return fmt.Errorf("--baseline compares runsUpdated subscribers: give --subscribers and --runs-updated-share above 0")
	}
	if c.Warmup == 0 {
		c.Warmup = min(c.Duration/5, time.Minute)
	}
	if c.WatchersPerRun <= 0 {
		c.WatchersPerRun = d.WatchersPerRun
	}
	if c.ConnectConcurrency <= 0 {
		c.ConnectConcurrency = d.ConnectConcurrency
	}
	if c.Concurrency == 0 {
		c.Concurrency = d.Concurrency
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = d.RequestTimeout
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = d.ProgressInterval
	}
	return nil
}

// runsUpdatedSubscribers is how many subscribers listen to runsUpdated.
func (c *Config) runsUpdatedSubscribers() int {
	return int(float64(c.Subscribers)*c.RunsUpdatedShare + 0.5)
}
