package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// serverSample is what /metrics says of the server process.
type serverSample struct {
	rss        float64 // process_resident_memory_bytes
	cpuSeconds float64 // process_cpu_seconds_total
}

// scrape reads the server process's RSS and CPU time from its Prometheus
// metrics.
func scrape(ctx context.Context, hc *http.Client, url, token string) (serverSample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return serverSample{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return serverSample{}, fmt.Errorf("reading %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return serverSample{}, fmt.Errorf("%s answered %d (--metrics-token, or --metrics-url for a server with -metrics-addr)", url, resp.StatusCode)
	}
	var s serverSample
	found := 0
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	for lines.Scan() {
		name, value, ok := strings.Cut(lines.Text(), " ")
		if !ok {
			continue
		}
		var dst *float64
		switch name {
		case "process_resident_memory_bytes":
			dst = &s.rss
		case "process_cpu_seconds_total":
			dst = &s.cpuSeconds
		default:
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return serverSample{}, fmt.Errorf("%s: %s is %q: %w", url, name, value, err)
		}
		*dst = v
		found++
	}
	if err := lines.Err(); err != nil {
		return serverSample{}, fmt.Errorf("reading %s: %w", url, err)
	}
	if found < 2 {
		return serverSample{}, fmt.Errorf("%s has no process_resident_memory_bytes or process_cpu_seconds_total (is it the server's /metrics?)", url)
	}
	return s, nil
}
