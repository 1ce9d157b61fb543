package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/ent/workflowpackage"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/tenant"
)

// ticker reports one progress event per tick, so a benchmark controls when
// events are committed.
type ticker chan struct{}

func (tk ticker) Execute(ctx context.Context, sc *engine.StepContext) (any, error) {
	for i := 1; ; i++ {
		select {
		case _, ok := <-tk:
			if !ok {
				return nil, nil
			}
			sc.Progress(float64(i%100)/100, "tick")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

const fanoutSubscribers = 1000

// BenchmarkFanout measures, with 1,000 websocket subscribers
// (graphql-transport-ws over the real HTTP handler):
//   - the delay from an event's commit to its arrival at each subscriber
//     (p50 and p99), and
//   - the server's heap per idle subscription.
//
// The subscribers run in a child process (this test binary, re-executed),
// so the server's heap is measured alone; both processes share the
// machine's cores, as a load balancer and its clients would not.
func BenchmarkFanout(b *testing.B) {
	b.Setenv(testdb.EnvURL, "") // the fan-out path does not depend on the database
	tk := make(ticker)
	api := newTestAPI(b, testOptions{
		executors:        executorsOf(map[stepkind.Kind]engine.Executor{stepkind.CMAAnalysis: tk}),
		progressInterval: time.Millisecond,
		config: func(c *Config) {
			c.MaxBodyBytes = 1 << 20
			c.MaxConnections = fanoutSubscribers // every subscriber shares the one token
		},
	})
	db, eng, srv, token := api.db, api.engine, api.srv, api.token

	ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: api.orgID})
	prop, err := db.Client.Property.Create().SetCity("Austin").SetLatitude(30.2).SetLongitude(-97.7).Save(ctx)
	if err != nil {
		b.Fatal(err)
	}
	pkg, err := db.Client.WorkflowPackage.Query().Where(workflowpackage.Key("new-listing")).Only(ctx)
	if err != nil {
		b.Fatal(err)
	}
	run, err := eng.StartRun(ctx, engine.StartRequest{PackageID: pkg.ID, PropertyID: &prop.ID})
	if err != nil {
		b.Fatal(err)
	}
	defer close(tk)
	time.Sleep(50 * time.Millisecond) // the first step is running and quiet
	if run, err = db.Client.Run.Get(ctx, run.ID); err != nil {
		b.Fatal(err)
	}

	heapBefore := heapInUse()
	child := exec.Command(os.Args[0], "-test.run=^TestFanoutClients$")
	child.Env = append(os.Environ(),
		"FANOUT_URL="+srv.URL, "FANOUT_TOKEN="+token, fmt.Sprintf("FANOUT_RUN=%d", run.ID), fmt.Sprintf("FANOUT_AFTER=%d", run.LastSeq),
		fmt.Sprintf("FANOUT_SUBSCRIBERS=%d", fanoutSubscribers), fmt.Sprintf("FANOUT_EVENTS=%d", b.N))
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := child.Start(); err != nil {
		b.Fatal(err)
	}
	defer child.Wait()
	lines := bufio.NewScanner(out)
	expect := func(prefix string) string {
		for lines.Scan() {
			if line := lines.Text(); strings.HasPrefix(line, prefix) {
				return strings.TrimPrefix(line, prefix)
			}
		}
		b.Fatalf("fan-out client exited before %q", prefix)
		return ""
	}
	expect("READY")
	time.Sleep(500 * time.Millisecond) // the server registers every subscription
	heapAfter := heapInUse()

	b.ResetTimer()
	for range b.N {
		tk <- struct{}{}
		expect("ALL ") // every subscriber has the event
	}
	b.StopTimer()
	var p50, p99 float64
	if _, err := fmt.Sscanf(expect("LATENCY "), "%f %f", &p50, &p99); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(p50, "p50-ms")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(float64(heapAfter-heapBefore)/fanoutSubscribers, "server-heap-bytes/subscriber")
}

// TestFanoutClients is BenchmarkFanout's client process; it does nothing
// unless that benchmark started it.
func TestFanoutClients(t *testing.T) {
	baseURL := os.Getenv("FANOUT_URL")
	if baseURL == "" {
		t.Skip("run by BenchmarkFanout")
	}
	atoi := func(k string) int { n, _ := strconv.Atoi(os.Getenv(k)); return n }
	runID, after, subscribers, events := atoi("FANOUT_RUN"), atoi("FANOUT_AFTER"), atoi("FANOUT_SUBSCRIBERS"), atoi("FANOUT_EVENTS")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	var (
		mu        sync.Mutex
		latencies []time.Duration
		perSeq    = map[int]int{}
		done      = make(chan struct{})
		readers   sync.WaitGroup
	)
	for range subscribers {
		conn := dialRunEvents(t, ctx, baseURL, os.Getenv("FANOUT_TOKEN"), runID, after)
		readers.Add(1)
		go func() {
			defer readers.Done()
			defer conn.Close(websocket.StatusNormalClosure, "")
			for got := 0; got < events; {
				var msg struct {
					Type    string `json:"type"`
					Payload struct {
						Data struct {
							RunEvents struct {
								Seq int       `json:"seq"`
								At  time.Time `json:"at"`
							} `json:"runEvents"`
						} `json:"data"`
					} `json:"payload"`
				}
				if err := wsjson.Read(ctx, conn, &msg); err != nil {
					t.Errorf("read: %v", err)
					return
				}
				if msg.Type != "next" {
					continue
				}
				got++
				ev := msg.Payload.Data.RunEvents
				d := time.Since(ev.At)
				mu.Lock()
				latencies = append(latencies, d)
				perSeq[ev.Seq]++
				if perSeq[ev.Seq] == subscribers {
					fmt.Println("ALL", ev.Seq)
					if len(latencies) == subscribers*events {
						close(done)
					}
				}
				mu.Unlock()
			}
		}()
	}
	fmt.Println("READY")
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("events did not all arrive")
	}
	readers.Wait()
	slices.Sort(latencies)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Println("LATENCY", ms(latencies[len(latencies)/2]), ms(latencies[len(latencies)*99/100]))
}

func dialRunEvents(tb testing.TB, ctx context.Context, baseURL, token string, runID, afterSeq int) *websocket.Conn {
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(baseURL, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	must := func(err error) {
		if err != nil {
			tb.Fatal(err)
		}
	}
	must(wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + token}}))
	var ack struct{ Type string }
	must(wsjson.Read(ctx, conn, &ack))
	payload, _ := json.Marshal(map[string]any{
		"query":     `subscription($id: ID!, $after: Int) { runEvents(runId: $id, afterSeq: $after) { seq at } }`,
		"variables": map[string]any{"id": runID, "after": afterSeq},
	})
	must(wsjson.Write(ctx, conn, map[string]any{"id": "1", "type": "subscribe", "payload": json.RawMessage(payload)}))
	return conn
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
