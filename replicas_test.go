package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/internal/testdb"
)

// These tests run EstateFlow as separate processes on one PostgreSQL
// database, as replicas behind a load balancer run.

// replicaToken is the demo admin's token in every replica test.
var replicaToken = func() string { s, _, _ := auth.NewSecret(); return s }()

// replicaCluster is a built binary and the processes started from it.
type replicaCluster struct {
	t      *testing.T
	binary string
	dbURL  string
	db     *sql.DB
	mu     sync.Mutex
	procs  map[string]*replica
}

type replica struct {
	name string
	cmd  *exec.Cmd
	url  string
	logs *lockedBuffer
	done chan struct{} // closed when the process has exited
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newReplicaCluster(t *testing.T) *replicaCluster {
	t.Helper()
	if os.Getenv(testdb.EnvURL) == "" {
		t.Skip("replicas share PostgreSQL: set " + testdb.EnvURL)
	}
	binary := filepath.Join(t.TempDir(), "estateflow")
	build := exec.Command("go", "build", "-o", binary, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the server: %v\n%s", err, out)
	}
	dbURL := testdb.URL(t)
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &replicaCluster{t: t, binary: binary, dbURL: dbURL, db: db, procs: map[string]*replica{}}
	t.Cleanup(c.stopAll)
	return c
}

// start runs a replica and waits until it is ready.
func (c *replicaCluster) start(name string) *replica {
	c.t.Helper()
	r := &replica{name: name, logs: &lockedBuffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(c.binary, "--addr", "127.0.0.1:0", "--log-json")
	r.cmd.Env = append(os.Environ(),
		"DATABASE_URL="+c.dbURL,
		"ESTATEFLOW_ADMIN_TOKEN="+replicaToken,
		"ESTATEFLOW_REPLICA_ID="+name,
		"ESTATEFLOW_RATE_LIMIT=1000000",
		"ESTATEFLOW_MAX_SUBSCRIPTIONS=1000",
		"ESTATEFLOW_MAX_CONNECTIONS=100",
		"ESTATEFLOW_DB_MAX_CONNS=12",
	)
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		defer close(r.done)
		scan := bufio.NewScanner(stderr)
		for scan.Scan() {
			line := scan.Text()
			_, _ = r.logs.Write([]byte(line + "\n"))
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving" {
				addr <- rec.Addr
			}
		}
		_ = r.cmd.Wait()
	}()
	select {
	case a := <-addr:
		r.url = "http://" + a
	case <-r.done:
		c.t.Fatalf("replica %s exited at start:\n%s", name, r.logs)
	case <-time.After(60 * time.Second):
		c.t.Fatalf("replica %s did not start:\n%s", name, r.logs)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(r.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("replica %s never became ready:\n%s", name, r.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.mu.Lock()
	c.procs[name] = r
	c.mu.Unlock()
	return r
}

// kill ends a replica with SIGKILL, as a crash would.
func (c *replicaCluster) kill(r *replica) {
	c.t.Helper()
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
	c.mu.Lock()
	delete(c.procs, r.name)
	c.mu.Unlock()
}

func (c *replicaCluster) stopAll() {
	c.mu.Lock()
	procs := c.procs
	c.procs = map[string]*replica{}
	c.mu.Unlock()
	for _, r := range procs {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, r := range procs {
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.done
		}
		if c.t.Failed() {
			c.t.Logf("replica %s log:\n%s", r.name, r.logs)
		}
	}
}

// post sends a GraphQL operation to a replica as the demo admin and returns
// its data; errors in the response are an error too.
func (r *replica) post(query string, vars map[string]any) (json.RawMessage, error) {
	data, _, err := r.postOnce(query, vars)
	return data, err
}

// postOnce is post that also says how long the server asked the client to
// wait before a retry (Retry-After of a 503; 0 when it did not ask).
func (r *replica) postOnce(query string, vars map[string]any) (json.RawMessage, time.Duration, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, r.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+replicaToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("replica %s: %w", r.name, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var res struct {
		Data   json.RawMessage `json:"data"`
		Errors []any           `json:"errors"`
	}
	if err := json.Unmarshal(raw, &res); err != nil || len(res.Errors) > 0 {
		var retryAfter time.Duration
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && resp.StatusCode == http.StatusServiceUnavailable {
			retryAfter = time.Duration(secs) * time.Second
		}
		return nil, retryAfter, fmt.Errorf("replica %s: %s", r.name, raw)
	}
	return res.Data, 0, nil
}

// postRetrying is post as a well-behaved client sends it: a 503 with
// Retry-After (UNAVAILABLE: the database, or the server's queue for it, did
// not answer a query in time, as happens on a loaded machine) is retried
// after the time asked, up to 4 times. Such a refusal comes before the
// operation commits anything, so a retried mutation does not run twice.
func (r *replica) postRetrying(query string, vars map[string]any) (json.RawMessage, error) {
	for attempt := 1; ; attempt++ {
		data, retryAfter, err := r.postOnce(query, vars)
		if err == nil || retryAfter == 0 || attempt == 5 {
			return data, err
		}
		time.Sleep(retryAfter)
	}
}

// graphql is post for the test's own goroutine.
func (r *replica) graphql(t *testing.T, query string, vars map[string]any, out any) {
	t.Helper()
	data, err := r.post(query, vars)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatal(err)
		}
	}
}

// eventStreams subscribes to runEvents of many runs over one websocket and
// collects each run's stream until its terminal event.
type eventStreams struct {
	conn *websocket.Conn
	mu   sync.Mutex
	seqs map[string][]int // subscription ID (the run ID) → seqs received
	done map[string]bool
	errs []string
	stop context.CancelFunc
	read chan struct{}
}

func openEventStreams(t *testing.T, r *replica) *eventStreams {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(r.url, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	conn.SetReadLimit(1 << 20)
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + replicaToken}}); err != nil {
		t.Fatal(err)
	}
	var ack struct{ Type string }
	if err := wsjson.Read(ctx, conn, &ack); err != nil || ack.Type != "connection_ack" {
		t.Fatalf("connection_init: %v %+v", err, ack)
	}
	s := &eventStreams{conn: conn, seqs: map[string][]int{}, done: map[string]bool{}, stop: cancel, read: make(chan struct{})}
	go func() {
		defer close(s.read)
		for {
			var msg struct {
				ID      string          `json:"id"`
				Type    string          `json:"type"`
				Payload json.RawMessage `json:"payload"`
			}
			if err := wsjson.Read(ctx, conn, &msg); err != nil {
				return
			}
			s.mu.Lock()
			switch msg.Type {
			case "next":
				var p struct {
					Data struct {
						RunEvents struct {
							Seq  int
							Type string
						} `json:"runEvents"`
					} `json:"data"`
					Errors []any `json:"errors"`
				}
				if err := json.Unmarshal(msg.Payload, &p); err != nil || len(p.Errors) > 0 {
					s.errs = append(s.errs, fmt.Sprintf("run %s: %s", msg.ID, msg.Payload))
				} else {
					s.seqs[msg.ID] = append(s.seqs[msg.ID], p.Data.RunEvents.Seq)
				}
			case "complete":
				s.done[msg.ID] = true
			case "error":
				s.errs = append(s.errs, fmt.Sprintf("run %s: %s", msg.ID, msg.Payload))
			}
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *eventStreams) subscribe(t *testing.T, runID string) {
	t.Helper()
	err := wsjson.Write(context.Background(), s.conn, map[string]any{"id": runID, "type": "subscribe", "payload": map[string]any{
		"query": `subscription($id: ID!) { runEvents(runId: $id) { seq type } }`, "variables": map[string]any{"id": runID}}})
	if err != nil {
		t.Fatal(err)
	}
}

// waitComplete waits until every run's stream completed.
func (s *eventStreams) waitComplete(t *testing.T, runIDs []string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s.mu.Lock()
		missing := 0
		for _, id := range runIDs {
			if !s.done[id] {
				missing++
			}
		}
		errs := append([]string(nil), s.errs...)
		s.mu.Unlock()
		if len(errs) > 0 {
			t.Fatalf("stream errors: %v", errs)
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d streams did not complete", missing, len(runIDs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *eventStreams) close() {
	s.stop()
	s.conn.CloseNow()
	<-s.read
}

// startRuns starts n runs through r, alternating New Listing on active
// listings and Lead Nurture on clients, and returns their IDs.
func startRuns(t *testing.T, r *replica, pkg map[string]string, n int, onStart func(runID string)) []string {
	t.Helper()
	var setup struct {
		Properties connectionIDs `json:"properties"`
		Clients    connectionIDs `json:"clients"`
	}
	r.graphql(t, `{ properties(first: 50, where: {status: ACTIVE}) { edges { node { id } } }
		clients(first: 50) { edges { node { id } } } }`, nil, &setup)
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan string, n)
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			query := `mutation($pkg: ID!, $p: ID!) { startRun(input: {packageId: $pkg, propertyId: $p, params: {listingStartDate: "2026-12-07"}}) { id } }`
			vars := map[string]any{"pkg": pkg["listing"], "p": setup.Properties.Edges[i%len(setup.Properties.Edges)].Node.ID}
			if i%2 == 1 {
				query = `mutation($pkg: ID!, $c: ID!) { startRun(input: {packageId: $pkg, clientId: $c}) { id } }`
				vars = map[string]any{"pkg": pkg["nurture"], "c": setup.Clients.Edges[i%len(setup.Clients.Edges)].Node.ID}
			}
			data, err := r.postRetrying(query, vars)
			var res struct{ StartRun struct{ ID string } }
			if err == nil {
				err = json.Unmarshal(data, &res)
			}
			if err != nil {
				errs <- err.Error()
				return
			}
			ids[i] = res.StartRun.ID
			if onStart != nil {
				onStart(ids[i])
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("starting a run: %s", e)
	}
	return ids
}

// connectionIDs decodes the IDs of a GraphQL connection's nodes.
type connectionIDs struct {
	Edges []struct{ Node struct{ ID string } } `json:"edges"`
}

func (c connectionIDs) first(t *testing.T) string {
	t.Helper()
	if len(c.Edges) == 0 {
		t.Fatal("empty connection")
	}
	return c.Edges[0].Node.ID
}

// demoPackages returns the IDs of the built-in packages, by short name.
func demoPackages(t *testing.T, r *replica) map[string]string {
	t.Helper()
	var pk struct {
		Listing connectionIDs `json:"listing"`
		Nurture connectionIDs `json:"nurture"`
	}
	r.graphql(t, `{ listing: packages(first: 1, where: {key: "new-listing"}) { edges { node { id } } }
		nurture: packages(first: 1, where: {key: "lead-nurture"}) { edges { node { id } } } }`, nil, &pk)
	return map[string]string{"listing": pk.Listing.first(t), "nurture": pk.Nurture.first(t)}
}

// assertRunsDone checks, from the database, that every run succeeded, that
// each stream is its run's whole log in order, and that every step's work
// was done once: one attempt, one completed job, no duplicate effect.
func (c *replicaCluster) assertRunsDone(t *testing.T, runIDs []string, streams *eventStreams, crashed bool) {
	t.Helper()
	for _, id := range runIDs {
		var status string
		var lastSeq int
		if err := c.db.QueryRow(`SELECT status, last_seq FROM runs WHERE id = $1`, id).Scan(&status, &lastSeq); err != nil {
			t.Fatal(err)
		}
		if status != "SUCCEEDED" {
			t.Fatalf("run %s is %s", id, status)
		}
		if streams == nil {
			continue
		}
		// Streamed live, with no event retention set: exactly 1..last_seq.
		streams.mu.Lock()
		got := streams.seqs[id]
		streams.mu.Unlock()
		if len(got) != lastSeq {
			t.Fatalf("run %s: the stream has %d events, the log %d: %v", id, len(got), lastSeq, got)
		}
		for i, seq := range got {
			if seq != i+1 {
				t.Fatalf("run %s: stream out of order or with a gap at %d: %v", id, i, got)
			}
		}
	}
	checks := []struct{ what, sql string }{
		// A step re-executed after a crash keeps its attempt number: the
		// attempt never recorded an outcome. Every further attempt follows
		// a recorded retry (say, a Lead Nurture step that another run on
		// the same client overtook, which plans again).
		{"steps whose attempts outnumber their recorded retries", `SELECT count(*) FROM step_runs s
			WHERE s.attempt <> 1 + (SELECT count(*) FROM run_events e
				WHERE e.run_id = s.run_id AND e.step_key = s.key AND e.type = 'STEP_RETRYING')`},
		{"step jobs not completed", `SELECT count(*) FROM river_job WHERE kind = 'estateflow_step_attempt' AND state <> 'completed'`},
		// Effects against the steps' own outputs: none lost, none doubled.
		{"runs whose follow-up tasks differ from the plan", `SELECT count(*) FROM step_runs s
			WHERE s.key = 'follow-up' AND jsonb_array_length(s.output->'tasks') <> (SELECT count(*) FROM tasks t WHERE t.run_id = s.run_id)`},
		{"runs whose emails differ from the sequence", `SELECT count(*) FROM step_runs s
			WHERE s.key = 'email' AND (s.output->>'consent')::boolean
			AND jsonb_array_length(s.output->'messages') <> (SELECT count(*) FROM email_messages m WHERE m.run_id = s.run_id)`},
		{"listings without their posts", `SELECT count(*) FROM step_runs s JOIN runs r ON r.id = s.run_id
			WHERE s.key = 'social' AND NOT EXISTS (SELECT 1 FROM scheduled_posts p WHERE p.property_id = r.property_id)`},
	}
	if !crashed {
		checks = append(checks, struct{ what, sql string }{"step jobs worked more than once",
			`SELECT count(*) FROM river_job WHERE kind = 'estateflow_step_attempt' AND attempt <> 1`})
	}
	for _, q := range checks {
		var n int
		if err := c.db.QueryRow(q.sql).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q.what, err)
		}
		if n != 0 {
			t.Fatalf("%s: %d", q.what, n)
		}
	}
}

// workSplit counts, per replica, the step jobs it completed.
func (c *replicaCluster) workSplit(t *testing.T) map[string]int {
	t.Helper()
	rows, err := c.db.Query(`SELECT attempted_by[array_length(attempted_by, 1)], count(*) FROM river_job
		WHERE kind = 'estateflow_step_attempt' AND state = 'completed' GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	split := map[string]int{}
	for rows.Next() {
		var who string
		var n int
		if err := rows.Scan(&who, &n); err != nil {
			t.Fatal(err)
		}
		split[who] = n
	}
	return split
}

// TestTwoReplicas starts 200 runs through replica A while a monitor on
// replica B subscribes to every run's events.
func TestTwoReplicas(t *testing.T) {
	t.Parallel()
	c := newReplicaCluster(t)
	a := c.start("A")
	b := c.start("B")
	pkg := demoPackages(t, a)
	streams := openEventStreams(t, b)
	defer streams.close()
	runs := startRuns(t, a, pkg, 200, func(id string) { streams.subscribe(t, id) })
	streams.waitComplete(t, runs, 3*time.Minute)
	c.assertRunsDone(t, runs, streams, false)
	split := c.workSplit(t)
	t.Logf("step jobs completed per replica: %v", split)
	if split["A"] == 0 || split["B"] == 0 {
		t.Fatalf("the work was not shared: %v", split)
	}
}

// shortenStepTimeouts makes the demo packages' next version time out each
// attempt after a few seconds, so that the rescue of a dead replica's steps
// fits in a test.
func shortenStepTimeouts(t *testing.T, r *replica, pkg map[string]string, seconds int) {
	t.Helper()
	for _, id := range pkg {
		var got struct {
			Node struct {
				Steps []map[string]any `json:"steps"`
			} `json:"node"`
		}
		r.graphql(t, `query($id: ID!) { node(id: $id) { ... on Package { steps { key name kind dependsOn config } } } }`,
			map[string]any{"id": id}, &got)
		for _, s := range got.Node.Steps {
			s["timeoutSeconds"] = seconds
			if s["config"] == nil {
				delete(s, "config")
			}
		}
		r.graphql(t, `mutation($id: ID!, $steps: [PackageStepInput!]!) { updatePackage(id: $id, input: {steps: $steps}) { version } }`,
			map[string]any{"id": id, "steps": got.Node.Steps}, nil)
	}
}

// killMidStep freezes a replica until one of its step jobs is running,
// then kills it: a crash in the middle of a step. It returns how many of
// its step jobs died running.
func (c *replicaCluster) killMidStep(t *testing.T, r *replica) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		_ = r.cmd.Process.Signal(syscall.SIGSTOP)
		var running int
		if err := c.db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'estateflow_step_attempt' AND state = 'running'
			AND attempted_by[array_length(attempted_by, 1)] = $1`, r.name).Scan(&running); err != nil {
			t.Fatal(err)
		}
		if running > 0 {
			c.kill(r)
			// A COMMIT sent just before SIGSTOP may have landed since:
			// count again now that nothing of r's can commit any more.
			time.Sleep(100 * time.Millisecond)
			if err := c.db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'estateflow_step_attempt' AND state = 'running'
				AND attempted_by[array_length(attempted_by, 1)] = $1`, r.name).Scan(&running); err != nil {
				t.Fatal(err)
			}
			if running == 0 {
				t.Fatalf("every step of %s finished before it died; the crash proves nothing", r.name)
			}
			return running
		}
		_ = r.cmd.Process.Signal(syscall.SIGCONT)
		time.Sleep(3 * time.Millisecond)
	}
	t.Fatalf("replica %s never ran a step", r.name)
	return 0
}

// TestReplicaCrash kills replica A with SIGKILL in the middle of steps: B
// finishes all of A's runs once River rescues A's jobs, with every effect
// written once, and a restarted A takes work again.
func TestReplicaCrash(t *testing.T) {
	t.Parallel()
	c := newReplicaCluster(t)
	a := c.start("A")
	b := c.start("B")
	pkg := demoPackages(t, a)
	const timeoutSeconds = 3
	shortenStepTimeouts(t, a, pkg, timeoutSeconds)
	streams := openEventStreams(t, b)
	defer streams.close()
	runs := startRuns(t, a, pkg, 120, func(id string) { streams.subscribe(t, id) })
	inFlight := c.killMidStep(t, a)
	killed := time.Now()
	// A job of the dead replica waits out its step's timeout (plus a
	// margin), then River's rescuer, which runs every 30 s on the leader,
	// hands it to B; B may first have to take the leadership over.
	streams.waitComplete(t, runs, 2*time.Minute)
	t.Logf("killed A with %d step jobs running; B finished every run %s later", inFlight, time.Since(killed).Round(time.Second))
	c.assertRunsDone(t, runs, streams, true)
	var rescued int
	if err := c.db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'estateflow_step_attempt' AND attempt > 1`).Scan(&rescued); err != nil {
		t.Fatal(err)
	}
	if rescued < inFlight {
		t.Fatalf("%d jobs were running on A, %d were worked again", inFlight, rescued)
	}
	t.Logf("step jobs completed per replica: %v; worked again after the crash: %d", c.workSplit(t), rescued)

	restarted := time.Now()
	a = c.start("A")
	more := startRuns(t, a, pkg, 40, func(id string) { streams.subscribe(t, id) })
	streams.waitComplete(t, more, time.Minute)
	c.assertRunsDone(t, append(runs, more...), streams, true)
	var byA int
	if err := c.db.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'estateflow_step_attempt' AND created_at > $1
		AND attempted_by[array_length(attempted_by, 1)] = 'A'`, restarted).Scan(&byA); err != nil {
		t.Fatal(err)
	}
	if byA == 0 {
		t.Fatal("the restarted A took no work")
	}
	t.Logf("the restarted A completed %d step jobs", byA)
}
