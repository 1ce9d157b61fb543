package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serverSample is what /metrics says of the server process.
type serverSample struct {
	rss        float64 // process_resident_memory_bytes
	cpuSeconds float64 // process_cpu_seconds_total
	heapInuse  float64 // go_memstats_heap_inuse_bytes (0 if absent)
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
		case "go_memstats_heap_inuse_bytes":
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err == nil {
				s.heapInuse = v
			}
			continue
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

// memorySampler reads the server's memory every interval during the load,
// so that the report can say whether it stayed flat after the warm-up.
type memorySampler struct {
	samples []MemorySample // owned by the sampling goroutine until done
	done    chan struct{}
}

// sampleMemory samples until ctx ends; wait returns the samples.
func sampleMemory(ctx context.Context, hc *http.Client, url, token string, every time.Duration) *memorySampler {
	m := &memorySampler{done: make(chan struct{})}
	go func() {
		defer close(m.done)
		began := time.Now()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s, err := scrape(ctx, hc, url, token)
			if err != nil {
				continue // a missed sample; the load goes on
			}
			m.samples = append(m.samples, MemorySample{AtSeconds: time.Since(began).Seconds(), RSSBytes: s.rss, HeapInuseBytes: s.heapInuse})
		}
	}()
	return m
}

func (m *memorySampler) wait() []MemorySample {
	<-m.done
	return m.samples
}

// memoryStats sums up the samples taken after the warm-up: the first of
// them, the last, the highest, and the growth from the first.
func memoryStats(samples []MemorySample, warmup time.Duration) *MemoryStats {
	ms := &MemoryStats{WarmupSeconds: warmup.Seconds(), Samples: samples}
	var after []MemorySample
	for _, s := range samples {
		if s.AtSeconds >= warmup.Seconds() {
			after = append(after, s)
		}
	}
	if len(after) < 2 {
		return ms
	}
	first, last := after[0], after[len(after)-1]
	ms.RSSAtWarmupBytes, ms.RSSAtEndBytes = first.RSSBytes, last.RSSBytes
	ms.HeapInuseAtWarmupBytes, ms.HeapInuseAtEndBytes = first.HeapInuseBytes, last.HeapInuseBytes
	for _, s := range after {
		ms.RSSMaxBytes = max(ms.RSSMaxBytes, s.RSSBytes)
		ms.HeapInuseMaxBytes = max(ms.HeapInuseMaxBytes, s.HeapInuseBytes)
	}
	ms.RSSGrowthPercent = 100 * (last.RSSBytes/first.RSSBytes - 1)
	ms.RSSMaxGrowthPercent = 100 * (ms.RSSMaxBytes/first.RSSBytes - 1)
	return ms
}
