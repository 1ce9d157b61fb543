//go:build gauntlet

package main

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/internal/testdb"
)

// The fault gauntlet runs the built server as real processes and hurts
// them: SIGKILLs while runs are in flight, a PostgreSQL outage, and
// websocket clients that stop reading. It is behind the gauntlet build
// tag because it takes minutes:
//
//	go test -tags gauntlet -run Gauntlet -count=1 .                 # SQLite
//	TEST_DATABASE_URL=postgres://… go test -tags gauntlet -run Gauntlet -count=1 .
//	go test -tags gauntlet -run Gauntlet -timeout 60m . -args -kills 20   # the long form
//
// The outage stops a whole PostgreSQL cluster with pg_ctlcluster: the one
// GAUNTLET_PG_CLUSTER names ("15/main" unless set), which must be the one
// serving TEST_DATABASE_URL's port. Without pg_ctlcluster, or the right to
// run it, that part is skipped.

var (
	gauntletKills = flag.Int("kills", 5, "gauntlet: SIGKILLs of the server while runs are in flight, per database")
	gauntletSeed  = flag.Uint64("seed", 0, "gauntlet: seed of the random kill moments (0: from the clock; the seed used is logged)")
)

// Sizes of the gauntlet's work. A batch uses each listing and each client
// at most once, so that no two runs of one batch share a subject.
const (
	killBatch      = 40 // runs started before each kill
	outageBatch    = 40
	stalledClients = 50
	normalClients  = 20
	// Runs in each round of stalled clients (a warm-up round, then the
	// measured one), in a batch that uses each listing once.
	stalledRuns = 60
	// outageLength is how long PostgreSQL stays down.
	outageLength = 6 * time.Second
	// replicaConnectionLimit is ESTATEFLOW_MAX_CONNECTIONS as
	// replicaCluster.start sets it.
	replicaConnectionLimit = 100
)

func TestGauntlet(t *testing.T) {
	seed := *gauntletSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (repeat with -args -seed %d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed>>7))
	binary := buildGauntletServer(t)

	t.Run("kills", func(t *testing.T) { gauntletKillsTest(t, binary, rng, *gauntletKills) })
	t.Run("outage", func(t *testing.T) { gauntletOutageTest(t, binary, rng) })
	t.Run("stalled-websockets", func(t *testing.T) { gauntletStalledTest(t, binary) })
}

// buildGauntletServer builds the server once for every part.
func buildGauntletServer(t *testing.T) string {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "estateflow")
	build := exec.Command("go", "build", "-o", binary, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the server: %v\n%s", err, out)
	}
	return binary
}

// gauntlet is a replicaCluster on the test's own database (SQLite unless
// TEST_DATABASE_URL is set), with checks written for both dialects.
type gauntlet struct {
	*replicaCluster
	postgres bool
}

func newGauntlet(t *testing.T, binary string) *gauntlet {
	t.Helper()
	dbURL := testdb.URL(t)
	g := &gauntlet{
		replicaCluster: &replicaCluster{t: t, binary: binary, dbURL: dbURL, procs: map[string]*replica{}},
		postgres:       database.IsPostgres(dbURL),
	}
	if g.postgres {
		db, err := sql.Open("postgres", dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		g.db = db
	}
	// Registered after the database's clean-ups, so it runs before them.
	t.Cleanup(g.stopAll)
	return g
}

// start starts a server process. On SQLite it opens the test's own
// connection to the file once the first server has created it.
func (g *gauntlet) start(name string) *replica {
	g.t.Helper()
	r := g.replicaCluster.start(name)
	if g.db == nil {
		db, err := database.Open(context.Background(), g.dbURL, database.Options{})
		if err != nil {
			g.t.Fatal(err)
		}
		g.t.Cleanup(func() { db.Close() })
		g.db = db.SQL
	}
	return r
}

func (g *gauntlet) dialect() string {
	if g.postgres {
		return "PostgreSQL"
	}
	return "SQLite"
}

func (g *gauntlet) count(t *testing.T, what, query string, args ...any) int {
	t.Helper()
	var n int
	if err := g.db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return n
}

const terminalRunStatuses = `('SUCCEEDED', 'FAILED', 'CANCELED')`

// unsettled counts what is still to be done: runs not yet terminal or not
// yet started by their trigger and, on PostgreSQL, step jobs not yet
// completed (a dead replica's job waits for River's rescuer even when its
// step's outcome was committed).
func (g *gauntlet) unsettled(t *testing.T) (runs, jobs int) {
	t.Helper()
	// A pending outbox message is a run still to start (a trigger), so it
	// counts as one in flight.
	runs = g.count(t, "runs in flight", `SELECT (SELECT count(*) FROM runs WHERE status NOT IN `+terminalRunStatuses+`)
		+ (SELECT count(*) FROM outbox_messages WHERE status = 'PENDING')`)
	if g.postgres {
		jobs = g.count(t, "step jobs in flight", `SELECT count(*) FROM river_job WHERE kind = 'estateflow_step_attempt' AND state <> 'completed'`)
	}
	return runs, jobs
}

// waitSettled waits until every run of the database is terminal and every
// step job is completed.
func (g *gauntlet) waitSettled(t *testing.T, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(within)
	for {
		runs, jobs := g.unsettled(t)
		if runs == 0 && jobs == 0 {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, %d runs are not terminal and %d step jobs not completed:\n%s", within, runs, jobs, g.describeUnsettled(t))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// describeUnsettled lists the steps of runs that are not terminal, for a
// failure message.
func (g *gauntlet) describeUnsettled(t *testing.T) string {
	rows, err := g.db.Query(`SELECT r.id, r.status, s.key, s.status, s.attempt FROM runs r JOIN step_runs s ON s.run_id = r.id
		WHERE r.status NOT IN ` + terminalRunStatuses + ` ORDER BY r.id, s.position LIMIT 40`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var runID, attempt int
		var runStatus, key, stepStatus string
		if err := rows.Scan(&runID, &runStatus, &key, &stepStatus, &attempt); err != nil {
			return err.Error()
		}
		fmt.Fprintf(&b, "  run %d %s: step %s %s (attempt %d)\n", runID, runStatus, key, stepStatus, attempt)
	}
	// And the outbox messages not yet delivered, with their River jobs.
	jobs := `''`
	if g.postgres {
		jobs = `coalesce((SELECT string_agg(j.state::text || ' attempt ' || (j.args->>'attempt') || ' errors ' || coalesce(j.errors::text, ''), '; ')
			FROM river_job j WHERE j.kind = 'estateflow_outbox_delivery' AND (j.args->>'message_id')::bigint = m.id), '')`
	}
	msgs, err := g.db.Query(`SELECT m.id, m.topic, m.attempts, coalesce(m.last_error, ''), ` + jobs + ` FROM outbox_messages m
		WHERE m.status = 'PENDING' ORDER BY m.id LIMIT 20`)
	if err != nil {
		return b.String() + err.Error()
	}
	defer msgs.Close()
	for msgs.Next() {
		var id, attempts int
		var topic, lastErr, jobStates string
		if err := msgs.Scan(&id, &topic, &attempts, &lastErr, &jobStates); err != nil {
			return b.String() + err.Error()
		}
		fmt.Fprintf(&b, "  outbox message %d (%s) pending after %d attempts, last error %q; jobs: %s\n", id, topic, attempts, lastErr, jobStates)
	}
	return b.String()
}

// jsonLength is the SQL for the length of the array at key of a JSON
// column, 0 when absent.
func (g *gauntlet) jsonLength(column, key string) string {
	if g.postgres {
		return fmt.Sprintf("coalesce(jsonb_array_length(%s->'%s'), 0)", column, key)
	}
	return fmt.Sprintf("coalesce(json_array_length(%s, '$.%s'), 0)", column, key)
}

func (g *gauntlet) jsonTrue(column, key string) string {
	if g.postgres {
		return fmt.Sprintf("coalesce((%s->>'%s')::boolean, false)", column, key)
	}
	return fmt.Sprintf("coalesce(json_extract(%s, '$.%s'), 0) = 1", column, key)
}

// checkRuns checks every run of the database once all are terminal: each
// succeeded; each event log is exactly seq 1..last_seq with one terminal
// event, the last; and each step's effects are exactly the ones its output
// lists, none lost and none doubled by a re-execution.
func (g *gauntlet) checkRuns(t *testing.T) (total int) {
	t.Helper()
	total = g.count(t, "runs", `SELECT count(*) FROM runs`)
	if failed := g.failedRuns(t); len(failed) > 0 {
		t.Errorf("%d of %d runs did not succeed: %s", len(failed), total, strings.Join(failed, "; "))
	}
	checks := []struct{ what, query string }{
		// An EVENTS_COMPACTED marker (event retention) stands for the seqs
		// seq..compacted_through; the gauntlet sets no retention, so each of
		// its runs has one event per seq.
		{"runs whose event log does not account for exactly seq 1..last_seq", `SELECT count(*) FROM runs r WHERE
			(SELECT coalesce(sum(coalesce(e.compacted_through, e.seq) - e.seq + 1), 0) FROM run_events e WHERE e.run_id = r.id) <> r.last_seq
			OR (SELECT count(DISTINCT e.seq) FROM run_events e WHERE e.run_id = r.id) <> (SELECT count(*) FROM run_events e WHERE e.run_id = r.id)
			OR (SELECT coalesce(min(e.seq), 0) FROM run_events e WHERE e.run_id = r.id) <> 1
			OR (SELECT coalesce(max(coalesce(e.compacted_through, e.seq)), 0) FROM run_events e WHERE e.run_id = r.id) <> r.last_seq`},
		{"runs without exactly one terminal event, the last", `SELECT count(*) FROM runs r WHERE
			(SELECT count(*) FROM run_events e WHERE e.run_id = r.id AND e.type IN ('RUN_SUCCEEDED', 'RUN_FAILED', 'RUN_CANCELED')) <> 1
			OR NOT EXISTS (SELECT 1 FROM run_events e WHERE e.run_id = r.id AND e.seq = r.last_seq
				AND e.type IN ('RUN_SUCCEEDED', 'RUN_FAILED', 'RUN_CANCELED'))`},
		{"follow-up steps whose tasks differ from their plan", `SELECT count(*) FROM step_runs s
			WHERE s.kind = 'FOLLOW_UP_SCHEDULING' AND s.status = 'SUCCEEDED'
			AND ` + g.jsonLength("s.output", "tasks") + ` <> (SELECT count(*) FROM tasks x WHERE x.run_id = s.run_id AND x.step_key = s.key)`},
		{"email steps whose messages differ from their sequence", `SELECT count(*) FROM step_runs s
			WHERE s.kind = 'EMAIL_SEQUENCE' AND s.status = 'SUCCEEDED' AND ` + g.jsonTrue("s.output", "consent") + `
			AND ` + g.jsonLength("s.output", "messages") + ` <> (SELECT count(*) FROM email_messages x WHERE x.run_id = s.run_id AND x.step_key = s.key)`},
		{"social steps whose posts differ from their schedule", `SELECT count(*) FROM step_runs s
			WHERE s.kind = 'SOCIAL_SCHEDULING' AND s.status = 'SUCCEEDED'
			AND ` + g.jsonLength("s.output", "posts") + ` <> (SELECT count(*) FROM scheduled_posts x WHERE x.run_id = s.run_id AND x.step_key = s.key)`},
		{"effects of steps that did not succeed", `SELECT
			(SELECT count(*) FROM tasks x JOIN step_runs s ON s.run_id = x.run_id AND s.key = x.step_key WHERE s.status <> 'SUCCEEDED') +
			(SELECT count(*) FROM email_messages x JOIN step_runs s ON s.run_id = x.run_id AND s.key = x.step_key WHERE s.status <> 'SUCCEEDED') +
			(SELECT count(*) FROM scheduled_posts x JOIN step_runs s ON s.run_id = x.run_id AND s.key = x.step_key WHERE s.status <> 'SUCCEEDED')`},
	}
	for _, c := range checks {
		if n := g.count(t, c.what, c.query); n != 0 {
			t.Errorf("%s: %d", c.what, n)
		}
	}
	// The effect checks compare something: each kind of effect was written.
	for _, table := range []string{"tasks", "email_messages", "scheduled_posts"} {
		if g.count(t, table, `SELECT count(*) FROM `+table+` WHERE run_id IS NOT NULL`) == 0 {
			t.Errorf("no run wrote %s: the effect checks compared nothing", table)
		}
	}
	return total
}

func (g *gauntlet) failedRuns(t *testing.T) []string {
	t.Helper()
	rows, err := g.db.Query(`SELECT id, status, coalesce(error, '') FROM runs WHERE status <> 'SUCCEEDED' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var failed []string
	for rows.Next() {
		var id int
		var status, msg string
		if err := rows.Scan(&id, &status, &msg); err != nil {
			t.Fatal(err)
		}
		failed = append(failed, fmt.Sprintf("run %d %s %q", id, status, msg))
	}
	return failed
}

// checkIntegrity runs SQLite's PRAGMA integrity_check on the file.
func (g *gauntlet) checkIntegrity(t *testing.T) {
	t.Helper()
	if g.postgres {
		return
	}
	rows, err := g.db.Query(`PRAGMA integrity_check`)
	if err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	defer rows.Close()
	var report []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		report = append(report, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	if len(report) != 1 || report[0] != "ok" {
		t.Fatalf("the SQLite file fails integrity_check:\n%s", strings.Join(report, "\n"))
	}
}

// gauntletKillsTest SIGKILLs the server kills times while runs are in
// flight: the one SQLite process, or on PostgreSQL each of two replicas in
// turn while the other takes the new runs. After each restart every run
// must finish, with its log and effects intact.
func gauntletKillsTest(t *testing.T, binary string, rng *rand.Rand, kills int) {
	g := newGauntlet(t, binary)
	names := []string{"S"}
	if g.postgres {
		names = []string{"A", "B"}
	}
	procs := map[string]*replica{}
	for _, name := range names {
		procs[name] = g.start(name)
	}
	pkg := demoPackages(t, procs[names[0]])
	if g.postgres {
		// A dead replica's running jobs are rescued once they have run
		// past their step's timeout (and River's 10 s floor).
		shortenStepTimeouts(t, procs[names[0]], pkg, 3)
	}
	settleWithin := 90 * time.Second
	if g.postgres {
		settleWithin = 3 * time.Minute // the rescue, River's rescuer runs every 30 s
	}
	// Every client created from now on starts Lead Nurture by itself; the
	// kills below land while clients are being created.
	procs[names[0]].graphql(t, `mutation { createAutomationRule(input: {name: "Nurture new clients", event: CLIENT_CREATED, packageKey: "lead-nurture"}) { id } }`, nil, nil)
	var clientsCreated atomic.Int64
	triggersAtKills := 0

	// One batch without a kill measures how long a batch takes, so that
	// the kills land while runs are in flight.
	began := time.Now()
	startRuns(t, procs[names[len(names)-1]], pkg, killBatch, nil)
	g.waitSettled(t, settleWithin)
	batchTime := time.Since(began)
	g.checkRuns(t)
	t.Logf("%s: a batch of %d runs takes %s without a kill", g.dialect(), killBatch, batchTime.Round(time.Millisecond))

	for i := range kills {
		victim := procs[names[i%len(names)]]
		entry := procs[names[(i+1)%len(names)]]
		k := g.killInFlight(t, victim, entry, pkg, rng, batchTime, &clientsCreated)
		if t.Failed() {
			return
		}
		triggersAtKills += k.triggers
		g.checkIntegrity(t)
		restarted := time.Now()
		procs[victim.name] = g.start(victim.name)
		up := time.Since(restarted)
		settled := g.waitSettled(t, settleWithin)
		total := g.checkRuns(t)
		clients := g.checkTriggers(t)
		t.Logf("kill %d/%d (%s, %s): after %s, with %d runs in flight, %d steps running and %d committed clients whose run had not started; up again in %s; every run terminal %s later; %d runs checked, %d triggered clients with one run each",
			i+1, kills, g.dialect(), victim.name, k.after.Round(time.Millisecond), k.runs, k.steps, k.triggers,
			up.Round(time.Millisecond), settled.Round(time.Millisecond), total, clients)
		if t.Failed() {
			return
		}
	}
	// The trigger check proves something only if a kill fell between a
	// client's commit and its run's start.
	if kills > 0 && triggersAtKills == 0 {
		t.Errorf("no kill of %d landed between a client's commit and its run's start", kills)
	}
	g.stopAll()
	g.checkIntegrity(t)
}

// gauntletClient names the clients created under the kills.
const gauntletClient = "Gauntlet client "

// clientCreator creates clients through one replica, a few at a time,
// until halted. Under the gauntlet's automation rule each creation commits
// a trigger message with the client, which the engine turns into a Lead
// Nurture run after the commit.
type clientCreator struct {
	stop chan struct{}
	wg   sync.WaitGroup
}

func startClientCreator(r *replica, numbering *atomic.Int64) *clientCreator {
	c := &clientCreator{stop: make(chan struct{})}
	for range 4 {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			for {
				select {
				case <-c.stop:
					return
				default:
				}
				n := numbering.Add(1)
				_, _, err := r.postOnce(`mutation($name: String!, $email: String!) { createClient(input: {name: $name, email: $email, source: WEBSITE, emailOptIn: true, preferredAreas: ["95819"]}) { id } }`,
					map[string]any{"name": fmt.Sprintf("%s%d", gauntletClient, n), "email": fmt.Sprintf("gauntlet-%d@example.com", n)})
				if err != nil {
					// Refused, or the replica is frozen or dead: the
					// database says what was committed.
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	return c
}

// halt stops the creation and waits for the creators; a request to a
// frozen replica returns once it is killed or thawed.
func (c *clientCreator) halt() {
	close(c.stop)
	c.wg.Wait()
}

// checkTriggers checks, once everything has settled, that every client
// created under the kills, including those whose creation committed just
// before a kill and whose response never arrived, has exactly one run
// started by the rule, and that the rule started no other run.
func (g *gauntlet) checkTriggers(t *testing.T) (clients int) {
	t.Helper()
	clients = g.count(t, "clients created under the kills", `SELECT count(*) FROM clients WHERE name LIKE '`+gauntletClient+`%'`)
	if clients == 0 {
		t.Errorf("no client was created under the kills")
	}
	if n := g.count(t, "clients without exactly one triggered run", `SELECT count(*) FROM clients c WHERE c.name LIKE '`+gauntletClient+`%'
		AND (SELECT count(*) FROM runs r WHERE r.client_id = c.id AND r."trigger" IS NOT NULL) <> 1`); n != 0 {
		t.Errorf("%d of %d clients created under the kills do not have exactly one run started by the rule", n, clients)
	}
	if n := g.count(t, "triggered runs", `SELECT count(*) FROM runs WHERE "trigger" IS NOT NULL`); n != clients {
		t.Errorf("the rule started %d runs for %d clients", n, clients)
	}
	if n := g.count(t, "trigger messages not delivered", `SELECT count(*) FROM outbox_messages WHERE status <> 'DONE'`); n != 0 {
		t.Errorf("%d trigger messages were not delivered", n)
	}
	return clients
}

type killStats struct {
	after       time.Duration // from the batch's start
	runs, steps int           // in flight, running at the kill
	// triggers counts the clients committed at the kill whose run had not
	// started: their trigger messages were pending.
	triggers int
}

// killInFlight starts a batch of runs through entry and kills victim at a
// random moment of the batch, frozen first (SIGSTOP) so that what was in
// flight can be counted. A moment at which nothing was in flight proves
// nothing: the victim is thawed and another batch tried, a few times.
func (g *gauntlet) killInFlight(t *testing.T, victim, entry *replica, pkg map[string]string, rng *rand.Rand, batchTime time.Duration, clients *atomic.Int64) killStats {
	t.Helper()
	window := batchTime * 3 / 4
	for attempt := range 4 {
		began := time.Now()
		creator := startClientCreator(victim, clients)
		startRuns(t, entry, pkg, killBatch, nil)
		// From just after the runs were accepted to most of the way
		// through the batch.
		if left := window - time.Since(began); left > 0 {
			time.Sleep(time.Duration(rng.Int64N(int64(left))))
		}
		_ = victim.cmd.Process.Signal(syscall.SIGSTOP)
		k := killStats{after: time.Since(began)}
		k.runs, _ = g.unsettled(t)
		k.steps = g.count(t, "running steps", `SELECT count(*) FROM step_runs WHERE status = 'RUNNING'`)
		k.triggers = g.count(t, "pending triggers", `SELECT count(*) FROM outbox_messages WHERE status = 'PENDING'`)
		if k.runs > 0 {
			g.kill(victim)
			creator.halt()
			return k
		}
		_ = victim.cmd.Process.Signal(syscall.SIGCONT)
		creator.halt()
		window /= 2
		t.Logf("attempt %d: nothing was in flight %s into the batch; trying again sooner", attempt+1, k.after.Round(time.Millisecond))
	}
	t.Fatal("no kill landed while runs were in flight")
	return killStats{}
}

// gauntletOutageTest stops PostgreSQL for a few seconds under two
// replicas while runs are in flight. Meanwhile every refusal is
// UNAVAILABLE (503 with Retry-After), never UNAUTHENTICATED; /healthz stays
// 200 and /readyz reports the database and the jobs failing. Afterwards
// every run finishes.
func gauntletOutageTest(t *testing.T, binary string, rng *rand.Rand) {
	cluster := outageCluster(t)
	g := newGauntlet(t, binary)
	a, b := g.start("A"), g.start("B")
	replicas := []*replica{a, b}
	pkg := demoPackages(t, a)
	shortenStepTimeouts(t, a, pkg, 3)

	watch := dialSocket(t, b, nil)
	defer watch.close()
	runs := startRuns(t, a, pkg, outageBatch, func(id string) { watch.subscribeRunEvents(t, id) })
	time.Sleep(time.Duration(rng.Int64N(int64(time.Second))))

	inFlight, _ := g.unsettled(t)
	outage := cluster.stopFor(t, outageLength)
	t.Logf("stopped PostgreSQL with %d of %d runs in flight", inFlight, len(runs))
	// Probe until shortly before the cluster is due back, so that every
	// answer counted was given while the database was down.
	probeUntil := time.Now().Add(outageLength - 1500*time.Millisecond)
	var results probeResults
	for time.Now().Before(probeUntil) {
		for _, r := range replicas {
			results.add("GraphQL", probeGraphQL(r))
			results.add("REST", probeREST(r))
			results.add("websocket connection_init", probeWebsocketInit(r))
			results.add("/healthz", probeHealth(r))
			results.add("/readyz", probeReady(r))
		}
		time.Sleep(200 * time.Millisecond)
	}
	watchErrs := watch.errors()
	outage.wait(t)
	t.Logf("during the outage: %s", results.summary())
	for _, wrong := range results.wrong() {
		t.Error(wrong)
	}
	for _, e := range watchErrs {
		if !strings.Contains(e, `"UNAVAILABLE"`) {
			t.Errorf("a subscription ended by the outage did not say UNAVAILABLE: %s", e)
		}
	}

	back := time.Now()
	for _, r := range replicas {
		waitReady(t, r, time.Minute)
	}
	t.Logf("both replicas ready %s after PostgreSQL came back", time.Since(back).Round(time.Millisecond))
	g.waitSettled(t, 3*time.Minute)
	total := g.checkRuns(t)
	t.Logf("every one of %d runs terminal %s after PostgreSQL came back", total, time.Since(back).Round(time.Millisecond))
}

// pgCluster is the PostgreSQL cluster that the outage stops.
type pgCluster struct {
	version, name, port string
}

// outageCluster finds the cluster named by GAUNTLET_PG_CLUSTER and checks
// that it serves TEST_DATABASE_URL, so that the outage never stops a
// cluster that the test does not use; it skips when the outage cannot run.
func outageCluster(t *testing.T) pgCluster {
	t.Helper()
	rawURL := os.Getenv(testdb.EnvURL)
	if rawURL == "" {
		t.Skip("the outage stops PostgreSQL: set " + testdb.EnvURL)
	}
	spec := cmp.Or(os.Getenv("GAUNTLET_PG_CLUSTER"), "15/main")
	version, name, ok := strings.Cut(spec, "/")
	if !ok {
		t.Fatalf("GAUNTLET_PG_CLUSTER=%q: want version/name, as pg_lsclusters lists it", spec)
	}
	if _, err := exec.LookPath("pg_ctlcluster"); err != nil {
		t.Skip("the outage needs pg_ctlcluster")
	}
	out, err := exec.Command("pg_lsclusters", "--no-header").Output()
	if err != nil {
		t.Skipf("the outage needs pg_lsclusters: %v", err)
	}
	c := pgCluster{version: version, name: name}
	var owner string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) >= 5 && f[0] == version && f[1] == name {
			c.port, owner = f[2], f[4]
		}
	}
	if c.port == "" {
		t.Skipf("no PostgreSQL cluster %s (set GAUNTLET_PG_CLUSTER to one of pg_lsclusters')", spec)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("%s: %v", testdb.EnvURL, err)
	}
	if host := u.Hostname(); host != "127.0.0.1" && host != "localhost" {
		t.Skipf("the outage stops a local cluster; %s points at %s", testdb.EnvURL, host)
	}
	if port := cmp.Or(u.Port(), "5432"); port != c.port {
		t.Skipf("cluster %s serves port %s but %s uses %s: set GAUNTLET_PG_CLUSTER to the cluster the tests use", spec, c.port, testdb.EnvURL, port)
	}
	if os.Geteuid() != 0 && (owner != os.Getenv("USER")) {
		t.Skipf("stopping cluster %s needs root or its owner %s", spec, owner)
	}
	return c
}

// clusterOutage is a stopped cluster and the process that starts it again.
type clusterOutage struct {
	restarter *exec.Cmd
	log       *bytes.Buffer
	done      chan error
}

// stopFor stops the cluster and returns once it is down. Its restart is a
// separate process group, so that PostgreSQL comes back after length even
// if this test dies meanwhile (a -timeout panic runs no clean-up).
func (c pgCluster) stopFor(t *testing.T, length time.Duration) *clusterOutage {
	t.Helper()
	stopped := filepath.Join(t.TempDir(), "stopped")
	ctl := "pg_ctlcluster --skip-systemctl-redirect " + c.version + " " + c.name
	script := fmt.Sprintf("%s stop; touch %s; sleep %d; %s start", ctl, stopped, int(length.Seconds()), ctl)
	o := &clusterOutage{log: &bytes.Buffer{}, done: make(chan error, 1)}
	o.restarter = exec.Command("sh", "-c", script)
	o.restarter.Stdout, o.restarter.Stderr = o.log, o.log
	o.restarter.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := o.restarter.Start(); err != nil {
		t.Fatalf("stopping PostgreSQL: %v", err)
	}
	go func() { o.done <- o.restarter.Wait() }()
	// Whatever happens to the test, it does not end before the cluster is
	// back.
	t.Cleanup(func() { o.wait(t) })
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := os.Stat(stopped); err == nil {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("PostgreSQL did not stop within a minute:\n%s", o.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wait waits for the restart and checks that it worked.
func (o *clusterOutage) wait(t *testing.T) {
	t.Helper()
	if o.done == nil {
		return
	}
	select {
	case err := <-o.done:
		o.done = nil
		if err != nil {
			t.Fatalf("restarting PostgreSQL: %v\n%s", err, o.log)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("PostgreSQL's restart did not finish:\n%s", o.log)
	}
}

// waitReady waits until a replica's /readyz answers 200.
func waitReady(t *testing.T, r *replica, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if p := probeReady(r); p.status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s is not ready %s after PostgreSQL came back", r.name, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// probe is one answer during the outage: right, or what was wrong with it.
type probe struct {
	status int
	codes  []string
	wrong  string // empty when the answer is what an outage calls for
	ok     bool   // answered without error (nothing needed the database)
}

var probeClient = &http.Client{Timeout: 10 * time.Second}

// graphQLCodes collects extensions.code of a GraphQL error body.
func graphQLCodes(body []byte) []string {
	var res struct {
		Errors []struct {
			Extensions struct {
				Code string `json:"code"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(body, &res)
	var codes []string
	for _, e := range res.Errors {
		codes = append(codes, e.Extensions.Code)
	}
	return codes
}

// judgeRefusal checks an HTTP answer given while the database is down.
func judgeRefusal(resp *http.Response, codes []string) probe {
	p := probe{status: resp.StatusCode, codes: codes}
	switch {
	case resp.StatusCode == http.StatusOK && len(codes) == 0:
		p.ok = true
	case slices.Contains(codes, "UNAUTHENTICATED") || resp.StatusCode == http.StatusUnauthorized:
		p.wrong = fmt.Sprintf("%d %v: a database outage looks like a bad token", resp.StatusCode, codes)
	case len(codes) == 0 || slices.ContainsFunc(codes, func(c string) bool { return c != "UNAVAILABLE" }):
		p.wrong = fmt.Sprintf("%d %v: want UNAVAILABLE", resp.StatusCode, codes)
	case resp.StatusCode != http.StatusServiceUnavailable:
		p.wrong = fmt.Sprintf("%d %v: want status 503", resp.StatusCode, codes)
	case resp.Header.Get("Retry-After") == "":
		p.wrong = fmt.Sprintf("%d %v without Retry-After", resp.StatusCode, codes)
	}
	return p
}

func probeGraphQL(r *replica) probe {
	body := `{"query":"{ runs(first: 1) { totalCount } }"}`
	req, _ := http.NewRequest(http.MethodPost, r.url+"/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+replicaToken)
	resp, err := probeClient.Do(req)
	if err != nil {
		return probe{wrong: err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return judgeRefusal(resp, graphQLCodes(raw))
}

func probeREST(r *replica) probe {
	req, _ := http.NewRequest(http.MethodGet, r.url+"/api/v1/orchestration/runs?limit=1", nil)
	req.Header.Set("Authorization", "Bearer "+replicaToken)
	resp, err := probeClient.Do(req)
	if err != nil {
		return probe{wrong: err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var res struct {
		Error *struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(raw, &res)
	var codes []string
	if res.Error != nil {
		codes = []string{res.Error.Code}
	}
	return judgeRefusal(resp, codes)
}

// probeWebsocketInit opens a websocket and authenticates in
// connection_init: the refusal, whether a close or an error message, must
// carry UNAVAILABLE.
func probeWebsocketInit(r *replica) probe {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(r.url, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		if resp != nil {
			raw, _ := io.ReadAll(resp.Body)
			return judgeRefusal(resp, graphQLCodes(raw))
		}
		return probe{wrong: "dial: " + err.Error()}
	}
	defer conn.CloseNow()
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + replicaToken}}); err != nil {
		return probe{wrong: "connection_init: " + err.Error()}
	}
	var said []string
	for range 5 {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				return probe{wrong: fmt.Sprintf("closed without a close frame (%v) after %q", err, said)}
			}
			p := probe{status: int(ce.Code), codes: []string{ce.Reason}}
			all := strings.Join(append(said, ce.Reason), " ")
			switch {
			case ce.Code == 4401 || strings.Contains(all, "UNAUTHENTICATED") || strings.Contains(all, "authentication failed"):
				p.wrong = fmt.Sprintf("closed %d %q after %q: a database outage looks like a bad token", ce.Code, ce.Reason, said)
			case !strings.Contains(all, "UNAVAILABLE"):
				p.wrong = fmt.Sprintf("closed %d %q after %q: want UNAVAILABLE", ce.Code, ce.Reason, said)
			}
			return p
		}
		var m struct{ Type string }
		_ = json.Unmarshal(msg, &m)
		if m.Type == "connection_ack" {
			return probe{ok: true}
		}
		said = append(said, string(msg))
	}
	return probe{wrong: fmt.Sprintf("neither an ack nor a close: %q", said)}
}

func probeHealth(r *replica) probe {
	resp, err := probeClient.Get(r.url + "/healthz")
	if err != nil {
		return probe{wrong: err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	p := probe{status: resp.StatusCode, ok: resp.StatusCode == http.StatusOK}
	if !p.ok {
		p.wrong = fmt.Sprintf("%d %q: liveness must not depend on the database", resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	return p
}

func probeReady(r *replica) probe {
	resp, err := probeClient.Get(r.url + "/readyz")
	if err != nil {
		return probe{wrong: err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body struct {
		Checks map[string]string `json:"checks"`
	}
	_ = json.Unmarshal(raw, &body)
	p := probe{status: resp.StatusCode}
	switch {
	case resp.StatusCode != http.StatusServiceUnavailable:
		p.wrong = fmt.Sprintf("%d %s: want 503 while the database is down", resp.StatusCode, bytes.TrimSpace(raw))
	case body.Checks["database"] != "failing" || body.Checks["jobs"] != "failing":
		p.wrong = fmt.Sprintf("%s: want the database and the jobs failing", bytes.TrimSpace(raw))
	}
	return p
}

// probeResults tallies the probes of each kind.
type probeResults struct {
	kinds   []string
	answers map[string][]probe
}

func (p *probeResults) add(kind string, pr probe) {
	if p.answers == nil {
		p.answers = map[string][]probe{}
	}
	if _, seen := p.answers[kind]; !seen {
		p.kinds = append(p.kinds, kind)
	}
	p.answers[kind] = append(p.answers[kind], pr)
}

func (p *probeResults) summary() string {
	var parts []string
	for _, kind := range p.kinds {
		var right, wrong, ok int
		for _, pr := range p.answers[kind] {
			switch {
			case pr.wrong != "":
				wrong++
			case pr.ok:
				ok++
			default:
				right++
			}
		}
		parts = append(parts, fmt.Sprintf("%s: %d as expected, %d answered without the database, %d wrong", kind, right, ok, wrong))
	}
	return strings.Join(parts, "; ")
}

// wrong lists, per kind, the distinct wrong answers, and the kinds that
// needed the database yet never said UNAVAILABLE.
func (p *probeResults) wrong() []string {
	var out []string
	for _, kind := range p.kinds {
		seen := map[string]int{}
		var order []string
		refused := 0
		for _, pr := range p.answers[kind] {
			if pr.wrong == "" {
				if !pr.ok {
					refused++
				}
				continue
			}
			if seen[pr.wrong] == 0 {
				order = append(order, pr.wrong)
			}
			seen[pr.wrong]++
		}
		for _, w := range order {
			out = append(out, fmt.Sprintf("during the outage, %s answered %s (%d times)", kind, w, seen[w]))
		}
		if needsDB := kind != "/healthz"; needsDB && refused == 0 && len(order) == 0 {
			out = append(out, fmt.Sprintf("during the outage, %s never reported it", kind))
		}
	}
	return out
}

// gqlSocket is a graphql-transport-ws client that reads all the server
// sends: runEvents per run, runsUpdated for the organization. Like a real
// client, it resumes a subscription that the server ended as a slow
// consumer: runEvents from the last seq received, runsUpdated afresh.
type gqlSocket struct {
	conn    *websocket.Conn
	stop    context.CancelFunc
	read    chan struct{}
	mu      sync.Mutex
	seqs    map[string][]int    // run ID → seqs received on its runEvents
	done    map[string]bool     // run ID → its runEvents completed
	states  map[string][]string // run ID → statuses received on runsUpdated
	resumed int                 // subscriptions resumed after SLOW_CONSUMER
	errs    []string
}

// dialSocket opens and authenticates a websocket; dialer, if not nil,
// makes its TCP connection.
func dialSocket(t *testing.T, r *replica, dialer func(ctx context.Context, network, addr string) (net.Conn, error)) *gqlSocket {
	t.Helper()
	conn, err := openSocket(r, dialer)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &gqlSocket{conn: conn, stop: cancel, read: make(chan struct{}),
		seqs: map[string][]int{}, done: map[string]bool{}, states: map[string][]string{}}
	go s.readAll(ctx)
	return s
}

// openSocket dials, sends connection_init and waits for the ack.
func openSocket(r *replica, dialer func(ctx context.Context, network, addr string) (net.Conn, error)) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}}
	if dialer != nil {
		opts.HTTPClient = &http.Client{Transport: &http.Transport{DialContext: dialer}}
	}
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(r.url, "http")+"/graphql", opts)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", r.name, err)
	}
	conn.SetReadLimit(64 << 20)
	if err := wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + replicaToken}}); err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("connection_init: %w", err)
	}
	var ack struct{ Type string }
	if err := wsjson.Read(ctx, conn, &ack); err != nil || ack.Type != "connection_ack" {
		conn.CloseNow()
		return nil, fmt.Errorf("connection_init: %v %+v", err, ack)
	}
	return conn, nil
}

func (s *gqlSocket) readAll(ctx context.Context) {
	defer close(s.read)
	for {
		var msg struct {
			ID      string          `json:"id"`
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
		}
		if err := wsjson.Read(ctx, s.conn, &msg); err != nil {
			if ctx.Err() == nil {
				s.mu.Lock()
				s.errs = append(s.errs, "the socket closed: "+err.Error())
				s.mu.Unlock()
			}
			return
		}
		// IDs are kind:runID#n, n counting the resumptions.
		kind, rest, _ := strings.Cut(msg.ID, ":")
		runID, _, _ := strings.Cut(rest, "#")
		s.mu.Lock()
		resume := false
		switch msg.Type {
		case "next":
			var p struct {
				Data struct {
					RunEvents   struct{ Seq int }           `json:"runEvents"`
					RunsUpdated struct{ ID, Status string } `json:"runsUpdated"`
				} `json:"data"`
				Errors []any `json:"errors"`
			}
			switch {
			case json.Unmarshal(msg.Payload, &p) != nil:
				s.errs = append(s.errs, fmt.Sprintf("%s: %s", msg.ID, msg.Payload))
			case len(p.Errors) > 0:
				codes := graphQLCodes(msg.Payload)
				resume = len(codes) > 0 && !slices.ContainsFunc(codes, func(c string) bool { return c != "SLOW_CONSUMER" })
				if !resume {
					s.errs = append(s.errs, fmt.Sprintf("%s: %s", msg.ID, msg.Payload))
				}
			case kind == "events":
				s.seqs[runID] = append(s.seqs[runID], p.Data.RunEvents.Seq)
			default:
				u := p.Data.RunsUpdated
				s.states[u.ID] = append(s.states[u.ID], u.Status)
			}
		case "complete":
			if kind == "events" {
				s.done[runID] = true
			}
		case "error":
			// The subscription's end: its payload is a list of errors.
			codes := graphQLCodes([]byte(`{"errors":` + string(msg.Payload) + `}`))
			resume = len(codes) > 0 && !slices.ContainsFunc(codes, func(c string) bool { return c != "SLOW_CONSUMER" })
			if !resume {
				s.errs = append(s.errs, fmt.Sprintf("%s: %s", msg.ID, msg.Payload))
			}
		}
		var after int
		if resume {
			s.resumed++
			if seqs := s.seqs[runID]; len(seqs) > 0 {
				after = seqs[len(seqs)-1]
			}
		}
		n := s.resumed
		s.mu.Unlock()
		if !resume {
			continue
		}
		var err error
		if kind == "events" {
			err = s.subscribe(fmt.Sprintf("events:%s#%d", runID, n), runEventsQuery, map[string]any{"id": runID, "after": after})
		} else {
			err = s.subscribe(fmt.Sprintf("runs:#%d", n), runsUpdatedQuery, nil)
		}
		if err != nil {
			s.mu.Lock()
			s.errs = append(s.errs, fmt.Sprintf("resuming %s: %v", msg.ID, err))
			s.mu.Unlock()
		}
	}
}

const (
	runEventsQuery   = `subscription($id: ID!, $after: Int) { runEvents(runId: $id, afterSeq: $after) { seq } }`
	runsUpdatedQuery = `subscription { runsUpdated { id status } }`
)

func (s *gqlSocket) subscribe(id, query string, vars map[string]any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return wsjson.Write(ctx, s.conn, map[string]any{"id": id, "type": "subscribe",
		"payload": map[string]any{"query": query, "variables": vars}})
}

func (s *gqlSocket) subscribeRunEvents(t *testing.T, runID string) {
	t.Helper()
	if err := s.subscribe("events:"+runID, runEventsQuery, map[string]any{"id": runID}); err != nil {
		t.Fatal(err)
	}
}

func (s *gqlSocket) subscribeRunsUpdated(t *testing.T) {
	t.Helper()
	if err := s.subscribe("runs:", runsUpdatedQuery, nil); err != nil {
		t.Fatal(err)
	}
}

func (s *gqlSocket) errors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.errs)
}

// complete reports how many of runIDs' runEvents have not completed yet.
func (s *gqlSocket) incomplete(runIDs []string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, id := range runIDs {
		if !s.done[id] {
			n++
		}
	}
	return n
}

func (s *gqlSocket) close() {
	s.stop()
	s.conn.CloseNow()
	<-s.read
}

// verify checks that the socket received each run's whole event log in
// order, and on runsUpdated the run's states in order. It returns how many
// subscriptions were resumed, and how many runs it saw end on runsUpdated.
func (s *gqlSocket) verify(t *testing.T, g *gauntlet, runIDs []string) (resumed, ended int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) > 0 {
		t.Errorf("a normal client got errors: %v", s.errs)
		return s.resumed, 0
	}
	rank := map[string]int{"QUEUED": 0, "RUNNING": 1, "CANCELING": 2, "SUCCEEDED": 3, "FAILED": 3, "CANCELED": 3}
	for _, id := range runIDs {
		lastSeq := g.count(t, "last seq", `SELECT last_seq FROM runs WHERE id = $1`, id)
		// Live runs: no retention has compacted them, so 1..last_seq exactly.
		got := s.seqs[id]
		if len(got) != lastSeq {
			t.Errorf("run %s: a normal client received %d events of %d: %v", id, len(got), lastSeq, got)
			return s.resumed, 0
		}
		for i, seq := range got {
			if seq != i+1 {
				t.Errorf("run %s: a normal client's events are out of order or have a gap: %v", id, got)
				return s.resumed, 0
			}
		}
		states := s.states[id]
		for i := 1; i < len(states); i++ {
			if rank[states[i]] < rank[states[i-1]] {
				t.Errorf("run %s: on runsUpdated a normal client saw the states out of order: %v", id, states)
				return s.resumed, 0
			}
		}
		if len(states) > 0 && rank[states[len(states)-1]] == 3 {
			ended++
		}
	}
	return s.resumed, ended
}

// gauntletStalledTest connects stalled websocket clients, which subscribe
// to runsUpdated and then never read, beside normal ones that read
// everything, while runs execute. The normal ones receive every event in
// order; the server closes the stalled ones, which frees their connection
// slots and their memory. It closes a stalled client by whichever comes
// first: a write blocked past the write timeout, or a ping left unanswered
// for as long; which one depends on how fast the client's socket buffers
// fill, so the test allows for either.
func gauntletStalledTest(t *testing.T, binary string) {
	g := newGauntlet(t, binary)
	srv := g.start("A")
	pid := srv.cmd.Process.Pid
	port, err := strconv.Atoi(srv.url[strings.LastIndex(srv.url, ":")+1:])
	if err != nil {
		t.Fatal(err)
	}
	pkg := demoPackages(t, srv)

	normal := make([]*gqlSocket, normalClients)
	for i := range normal {
		normal[i] = dialSocket(t, srv, nil)
		defer normal[i].close()
		normal[i].subscribeRunsUpdated(t)
	}
	subscribeAll := func(id string) {
		for _, s := range normal {
			s.subscribeRunEvents(t, id)
		}
	}
	waitNormal := func(runIDs []string) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Minute)
		for _, s := range normal {
			for s.incomplete(runIDs) > 0 && len(s.errors()) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("a normal client's streams did not complete: %d of %d missing", s.incomplete(runIDs), len(runIDs))
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}

	// A round: stalled clients connect, runs execute beside them, and the
	// round ends when the server has closed every stalled client.
	round := func(name string) stalledRound {
		t.Helper()
		var rd stalledRound
		var ports map[int]bool
		rd.stalled, ports = openStalled(t, srv, stalledClients)
		if held := heldConnections(t, pid, port, ports); held != stalledClients {
			t.Fatalf("%s round: the server holds %d of the %d stalled connections", name, held, stalledClients)
		}
		began := time.Now()
		sampler := startStalledSampler(pid, port, ports, began)
		rd.runs = startRuns(t, srv, pkg, stalledRuns, subscribeAll)
		waitNormal(rd.runs)
		g.waitSettled(t, time.Minute)
		rd.ranFor = time.Since(began)

		// The server closes the stalled clients: it no longer holds their
		// connections.
		const closeWithin = 45 * time.Second
		closeBy := time.Now().Add(closeWithin)
		held := heldConnections(t, pid, port, ports)
		for held > 0 && time.Now().Before(closeBy) {
			time.Sleep(200 * time.Millisecond)
			held = heldConnections(t, pid, port, ports)
		}
		rd.peakKB, rd.closedAt = sampler.stop()
		if held > 0 {
			t.Errorf("%s round: %d of %d stalled websockets are still open %s after the runs ended", name, held, stalledClients, closeWithin)
		}
		if n := len(rd.closedAt); n > 0 {
			t.Logf("%s round: %d runs in %s; the stalled websockets were closed %s (first), %s (median), %s (last) after the last of them was opened; peak RSS %d MiB",
				name, len(rd.runs), rd.ranFor.Round(100*time.Millisecond), rd.closedAt[0].Round(100*time.Millisecond),
				rd.closedAt[n/2].Round(100*time.Millisecond), rd.closedAt[n-1].Round(100*time.Millisecond), rd.peakKB>>10)
		}
		return rd
	}

	// The memory baseline follows a first round. A burst of this size grows
	// what the server keeps whatever the clients do: the database pool
	// opens up to its limit of connections, each with its prepared
	// statements and (SQLite) its page cache, and the Go heap keeps some
	// fragmentation after its peak. None of that is memory held for the
	// stalled connections, yet it comes within the 20% when measured from
	// a process that never saw such a burst (PostgreSQL ended 16–19% over
	// such a baseline). Memory held for stalled connections, or leaked by
	// them, would show in the second round as it does in the first: 50
	// stalled connections that kept 3 MB each would end 150 MB over.
	// The subscriptions' shared frames (graph/multiplex.go: each state
	// rendered once per operation) are forgotten within two 10 s windows
	// of the last state; until they were, the rounds' frames stayed in the
	// Go heap, which ended 33–62% over its baseline and RSS 113–128%.
	before := residentKB(t, pid)
	warm := round("warm-up")
	baseline, baseMem := settledResidentKB(t, srv, pid, 0)
	measured := round("measured")
	end, endMem := settledResidentKB(t, srv, pid, baseline*6/5)
	t.Logf("server RSS: %d MiB before any stalled client, %d MiB at the baseline (after the warm-up round), %d MiB at the measured round's peak, %d MiB at its end (%.0f%% of the baseline)",
		before>>10, baseline>>10, measured.peakKB>>10, end>>10, 100*float64(end)/float64(baseline))
	t.Logf("at the lowest RSS, baseline → end: Go heap in use %d → %d KiB, held by the Go runtime %d → %d KiB, outside it (the binary, and SQLite's caches on SQLite) %d → %d KiB",
		baseMem.heapInuseKB, endMem.heapInuseKB, baseMem.goHeldKB, endMem.goHeldKB, baseline-baseMem.goHeldKB, end-endMem.goHeldKB)
	if limit := baseline * 6 / 5; end > limit {
		t.Errorf("server memory did not return to within 20%% of its baseline: %d KiB, baseline %d KiB", end, baseline)
	}

	runs := append(slices.Clone(warm.runs), measured.runs...)
	var resumed, ended int
	for _, s := range normal {
		r, e := s.verify(t, g, runs)
		resumed, ended = resumed+r, ended+e
	}
	g.checkRuns(t)
	t.Logf("%d normal clients received every event of %d runs in order beside %d stalled clients per round; on runsUpdated they saw %d run ends; %d subscriptions resumed after SLOW_CONSUMER",
		normalClients, len(runs), stalledClients, ended, resumed)
	slowest, unavailable := slowestPosts(srv.logs.String())
	t.Logf("the slowest GraphQL POST took %s; %d were answered 503 and retried", slowest.Round(time.Millisecond), unavailable)
	stalled := measured.stalled

	// The stalled clients' slots are free: the token opens as many
	// connections as its limit allows beside the normal clients.
	var refused []string
	for range replicaConnectionLimit - normalClients {
		conn, err := openSocket(srv, nil)
		if err != nil {
			refused = append(refused, err.Error())
			continue
		}
		defer conn.CloseNow()
	}
	if len(refused) > 0 {
		t.Errorf("the stalled websockets still hold their connection slots: %d of %d new connections refused, for example %s",
			len(refused), replicaConnectionLimit-normalClients, refused[0])
	}

	// What a stalled client reads once it reads again: what was buffered,
	// then how its connection ended.
	endings := map[string]int{}
	var buffered int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, conn := range stalled {
		wg.Go(func() {
			ending, read := drainEnding(conn)
			mu.Lock()
			endings[ending]++
			buffered += read
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Logf("the stalled clients, reading at last, found %d KiB buffered, then: %v", buffered>>10, endings)
}

// stalledRound is what one round of stalled clients left: its stalled
// connections, its runs, the peak RSS and when each stalled connection was
// closed (since the last was opened, sorted).
type stalledRound struct {
	stalled  []*websocket.Conn
	runs     []string
	ranFor   time.Duration
	peakKB   int
	closedAt []time.Duration
}

// stalledSampler samples a server's RSS and its stalled connections every
// 200 ms, from its own goroutine until stop.
type stalledSampler struct {
	quit chan struct{}
	done chan struct{}
	peak int
	at   []time.Duration
}

func startStalledSampler(pid, port int, ports map[int]bool, since time.Time) *stalledSampler {
	s := &stalledSampler{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		gone := map[int]bool{}
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			if kb, err := readResidentKB(pid); err == nil {
				s.peak = max(s.peak, kb)
			}
			if held, err := heldRemotePorts(pid, port, ports); err == nil {
				for p := range ports {
					if !held[p] && !gone[p] {
						gone[p] = true
						s.at = append(s.at, time.Since(since))
					}
				}
			}
			select {
			case <-s.quit:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the peak RSS and the closing times.
func (s *stalledSampler) stop() (peakKB int, closedAt []time.Duration) {
	close(s.quit)
	<-s.done
	slices.Sort(s.at)
	return s.peak, s.at
}

// settledResidentKB is a server's RSS once a round of stalled clients is
// over: the lowest reading, every half second, from 4 s to 14 s after the
// last stalled connection was closed. The server hands freed memory back to
// the system with a forced collection about 3 s after the last close (5 s
// after the last stall), so the lowest reading is what the process holds
// live after that collection, plus what lives outside the Go heap (SQLite's
// page caches, stacks). Single readings of a Go process swing by tens of
// MiB with the garbage made between collections, which is not memory held
// for anyone: the lowest reading leaves it out at the baseline and at the
// end alike, while memory still held for (or leaked by) the stalled
// connections is live and stays in it. Reads of a page of runs meanwhile
// keep the server working as it does at any time.
//
// Above limit (when it is not 0), the reading goes on for up to a minute
// until it is back under: SQLite's allocator and the runtime's background
// scavenger hand memory back over tens of seconds after a large peak.
func settledResidentKB(t *testing.T, srv *replica, pid, limit int) (int, goMemory) {
	t.Helper()
	began := time.Now()
	lowest := 0
	var atLowest goMemory
	for time.Since(began) < 14*time.Second || (limit > 0 && lowest > limit && time.Since(began) < time.Minute) {
		if _, err := srv.post(`{ runs(first: 50) { edges { node { id status steps { key status } } } } }`, nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		if time.Since(began) < 4*time.Second {
			continue
		}
		if kb := residentKB(t, pid); lowest == 0 || kb < lowest {
			lowest, atLowest = kb, readGoMemory(t, srv)
		}
	}
	return lowest, atLowest
}

// stalledQuery is a stalled client's runsUpdated: the runs' whole steps,
// asked for under many aliases, so that what the server has to write to
// the client can outgrow the kernel's socket buffers (net.ipv4.tcp_wmem
// lets a send buffer grow to 4 MiB) and the server's writes really block,
// and so that a stalled connection holds megabytes of the server's memory
// until it is closed.
var stalledQuery = func() string {
	var b strings.Builder
	b.WriteString("subscription { runsUpdated { id status progress params error")
	for i := range 24 {
		fmt.Fprintf(&b, " s%d: steps { key status message attempt outputJSON }", i)
	}
	b.WriteString(" } }")
	return b.String()
}()

// openStalled opens n stalled clients: each has a tiny receive buffer,
// subscribes to the runs' whole states, and reads nothing after the ack.
// It returns them and their local ports.
func openStalled(t *testing.T, srv *replica, n int) ([]*websocket.Conn, map[int]bool) {
	t.Helper()
	ports := map[int]bool{}
	var mu sync.Mutex
	dialer := func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
			return cmp.Or(err, serr)
		}}
		conn, err := d.DialContext(ctx, network, addr)
		if err == nil {
			mu.Lock()
			ports[conn.LocalAddr().(*net.TCPAddr).Port] = true
			mu.Unlock()
		}
		return conn, err
	}
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conn, err := openSocket(srv, dialer)
		if err != nil {
			t.Fatalf("stalled client %d: %v", i, err)
		}
		conns[i] = conn
		t.Cleanup(func() { conn.CloseNow() })
		err = wsjson.Write(context.Background(), conn, map[string]any{"id": "runs", "type": "subscribe", "payload": map[string]any{
			"query": stalledQuery}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return conns, ports
}

// drainEnding reads a stalled connection until it ends, for a few seconds
// at most, and says how it ended and how much it read.
func drainEnding(conn *websocket.Conn) (ending string, read int) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, msg, err := conn.Read(ctx)
		if err == nil {
			read += len(msg)
			continue
		}
		var ce websocket.CloseError
		switch {
		case errors.As(err, &ce):
			return fmt.Sprintf("close %d %q", ce.Code, ce.Reason), read
		case ctx.Err() != nil:
			return "still open", read
		default:
			return "closed without a close frame", read
		}
	}
}

// slowestPosts reads a server's access log: the longest POST /graphql and
// how many were refused with 503 (how close the load came to the token
// lookup's timeout).
func slowestPosts(log string) (slowest time.Duration, unavailable int) {
	for line := range strings.Lines(log) {
		var rec struct {
			Msg, Method, Path string
			Status            int
			Duration          time.Duration
		}
		if json.Unmarshal([]byte(strings.TrimSpace(line)), &rec) != nil || rec.Msg != "http request" || rec.Method != http.MethodPost || rec.Path != "/graphql" {
			continue
		}
		slowest = max(slowest, rec.Duration)
		if rec.Status == http.StatusServiceUnavailable {
			unavailable++
		}
	}
	return slowest, unavailable
}

// residentKB reads a process's resident set size.
// goMemory is what a server's /metrics says of the Go runtime's memory.
type goMemory struct {
	heapInuseKB int // go_memstats_heap_inuse_bytes
	// goHeldKB is what the runtime holds from the system and has not
	// handed back (go_memstats_sys_bytes less heap_released): RSS beyond
	// it is memory outside Go, such as SQLite's page caches.
	goHeldKB int
}

func readGoMemory(t *testing.T, srv *replica) goMemory {
	t.Helper()
	resp, err := http.Get(srv.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for line := range strings.Lines(string(body)) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || !strings.HasPrefix(name, "go_memstats_") {
			continue
		}
		if v, err := strconv.ParseFloat(value, 64); err == nil {
			values[name] = v
		}
	}
	return goMemory{
		heapInuseKB: int(values["go_memstats_heap_inuse_bytes"]) >> 10,
		goHeldKB:    int(values["go_memstats_sys_bytes"]-values["go_memstats_heap_released_bytes"]) >> 10,
	}
}

func residentKB(t *testing.T, pid int) int {
	t.Helper()
	kb, err := readResidentKB(pid)
	if err != nil {
		t.Fatal(err)
	}
	return kb
}

func readResidentKB(pid int) (int, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(raw)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// heldConnections counts the TCP connections that process pid still holds
// open on its port whose remote ports are among remotePorts: a socket the
// server has closed leaves its descriptors, even while the kernel still
// tries to deliver its last bytes.
func heldConnections(t *testing.T, pid, port int, remotePorts map[int]bool) int {
	t.Helper()
	held, err := heldRemotePorts(pid, port, remotePorts)
	if err != nil {
		t.Fatal(err)
	}
	return len(held)
}

// heldRemotePorts is heldConnections' set of remote ports.
func heldRemotePorts(pid, port int, remotePorts map[int]bool) (map[int]bool, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return nil, err
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if inode, ok := strings.CutPrefix(target, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	held := map[int]bool{}
	for _, table := range []string{"tcp", "tcp6"} {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(raw)) {
			// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
			f := strings.Fields(line)
			if len(f) < 10 || !inodes[f[9]] {
				continue
			}
			if remote := hexPort(f[2]); hexPort(f[1]) == port && remotePorts[remote] {
				held[remote] = true
			}
		}
	}
	return held, nil
}

// hexPort is the port of a /proc/net/tcp address (hex IP:hex port).
func hexPort(addr string) int {
	_, p, _ := strings.Cut(addr, ":")
	n, _ := strconv.ParseInt(p, 16, 32)
	return int(n)
}
