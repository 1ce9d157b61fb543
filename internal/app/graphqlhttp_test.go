package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// nodeRunner is the folder of the Node scripts that check the server with
// the reference clients: graphql-http's audit suite and graphql-sse's client.
// .ci/run installs their packages (npm ci); elsewhere the tests skip without
// them.
const nodeRunner = "testdata/graphql-http"

// requireNodeRunner skips the test when node or the runner's packages are
// missing, except in CI, where a skip would hide a regression.
func requireNodeRunner(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(nodeRunner, "node_modules", "graphql-http", "package.json"))
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI needs node and the packages of %s (npm ci there): %v", nodeRunner, err)
		}
		t.Skipf("needs node and the packages of %s (run npm ci there): %v", nodeRunner, err)
	}
	return node
}

// runNode runs one of the runner's scripts against the test server and
// returns its JSON lines.
func runNode(t *testing.T, api *testAPI, script string, env ...string) []map[string]any {
	t.Helper()
	node := requireNodeRunner(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = nodeRunner
	cmd.Env = append(os.Environ(), "ESTATEFLOW_URL="+api.srv.URL+"/graphql", "ESTATEFLOW_TOKEN="+api.token)
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s\n%s", script, err, out, stderr.Bytes())
	}
	var lines []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("node %s printed %q: %v", script, sc.Text(), err)
		}
		lines = append(lines, line)
	}
	return lines
}

// TestGraphQLOverHTTPAudit runs graphql-http's audit suite (every MUST,
// SHOULD and MAY of the GraphQL over HTTP specification it checks) against
// the real server, with the test organization's token on every request,
// and fails on any audit that does not pass.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	t.Parallel()
	// Introspection on, as serve has it by default: audits query __type.
	api := newTestAPI(t, testOptions{config: func(c *Config) { c.Introspection = true }})
	results := runNode(t, api, "audit.mjs")
	if len(results) < 61 {
		t.Errorf("the suite ran %d audits, want at least 61", len(results))
	}
	passed := 0
	for _, r := range results {
		if r["status"] == "ok" {
			passed++
			continue
		}
		t.Errorf("audit %v %q: %v: %v (status %v, body %v)", r["id"], r["name"], r["status"], r["reason"], r["responseStatus"], r["responseBody"])
	}
	t.Logf("graphql-http audit: %d of %d passed", passed, len(results))
}

// TestGraphQLSSEClient runs graphql-sse's reference client against the
// server in both of its modes: distinct connections and single connection
// (the reservation flow), with a query and a subscription in each.
func TestGraphQLSSEClient(t *testing.T) {
	t.Parallel()
	api, gate := newListingAPI(t)
	runID := startListingRun(t, api)
	close(gate)
	id, err := strconv.Atoi(runID)
	if err != nil {
		t.Fatal(err)
	}
	api.waitRun(t, id)
	results := runNode(t, api, "sse.mjs", "ESTATEFLOW_RUN_ID="+runID)
	stored := api.storedSeqs(t, runID)
	modes := map[string]bool{}
	for _, r := range results {
		mode, _ := r["mode"].(string)
		modes[mode] = true
		if r["error"] != nil {
			t.Errorf("%s: %v", mode, r["error"])
			continue
		}
		if r["role"] != "ADMIN" {
			t.Errorf("%s: the query answered %v", mode, r["role"])
		}
		if seqs, _ := r["seqs"].([]any); len(seqs) != len(stored) {
			t.Errorf("%s: the subscription delivered %d events, the run has %d", mode, len(seqs), len(stored))
		}
	}
	if !modes["distinct"] || !modes["single"] {
		t.Fatalf("modes run: %v", modes)
	}
}
