package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/estateflow/estateflow/internal/cli"
)

// Codes of the failures that are not the server's refusals.
const (
	codeNetwork  = "NETWORK"  // the server could not be reached, or dropped the connection
	codeProtocol = "PROTOCOL" // an answer that is not what the protocol says
)

// errorCounter counts failures by code (a GraphQL error's
// extensions.code, a REST error's code, or NETWORK and PROTOCOL) and
// keeps the first message of each.
type errorCounter struct {
	mu      sync.Mutex
	counts  map[string]int64
	samples map[string]string
}

func newErrorCounter() *errorCounter {
	return &errorCounter{counts: map[string]int64{}, samples: map[string]string{}}
}

// add counts err under its code and returns the code; an error of a
// context that ended (the test stopping) is not a failure and counts
// nothing.
func (e *errorCounter) add(ctx context.Context, op string, err error) string {
	if err == nil || ctx.Err() != nil {
		return ""
	}
	code := codeOf(err)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts[code]++
	if _, ok := e.samples[code]; !ok {
		e.samples[code] = op + ": " + err.Error()
	}
	return code
}

func (e *errorCounter) total() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var n int64
	for _, c := range e.counts {
		n += c
	}
	return n
}

func (e *errorCounter) snapshot() (map[string]int64, map[string]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	counts, samples := make(map[string]int64, len(e.counts)), make(map[string]string, len(e.samples))
	for k, v := range e.counts {
		counts[k] = v
	}
	for k, v := range e.samples {
		samples[k] = v
	}
	return counts, samples
}

// protocolError is an answer that breaks the protocol.
type protocolError struct{ msg string }

func (p *protocolError) Error() string { return p.msg }

func codeOf(err error) string {
	var apiErr *cli.APIError
	var perr *protocolError
	switch {
	case errors.As(err, &apiErr) && apiErr.Code != "":
		return apiErr.Code
	case errors.As(err, &perr):
		return codeProtocol
	}
	return codeNetwork
}

// api calls the server's GraphQL and REST APIs as the token's holder,
// over one pool of keep-alive connections sized for the starters.
type api struct {
	server string
	gql    *cli.Client
	http   *http.Client
	token  string
}

func newAPI(cfg *Config) *api {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = cfg.Concurrency + 32
	tr.MaxIdleConnsPerHost = cfg.Concurrency + 32
	hc := &http.Client{Transport: tr, Timeout: cfg.RequestTimeout}
	return &api{
		server: cfg.Server,
		gql:    &cli.Client{Server: cfg.Server, Token: cfg.Token, HTTP: hc},
		http:   hc,
		token:  cfg.Token,
	}
}

func (a *api) close() { a.http.CloseIdleConnections() }

// graphql sends one operation; refusals are *cli.APIError.
func (a *api) graphql(ctx context.Context, query string, vars map[string]any, out any) error {
	return a.gql.Do(ctx, query, vars, out)
}

const startRunMutation = `mutation LoadStart($input: StartRunInput!) { startRun(input: $input) { id status } }`

// startRun starts a run through GraphQL or REST and returns its ID.
func (a *api) startRun(ctx context.Context, via, packageID, propertyID string) (string, error) {
	if via == ViaREST {
		return a.startREST(ctx, packageID, propertyID)
	}
	var out struct {
		StartRun struct{ ID string } `json:"startRun"`
	}
	err := a.graphql(ctx, startRunMutation, map[string]any{"input": map[string]any{"packageId": packageID, "propertyId": propertyID}}, &out)
	if err != nil {
		return "", err
	}
	if out.StartRun.ID == "" {
		return "", &protocolError{"startRun answered no run ID"}
	}
	return out.StartRun.ID, nil
}

// startREST is POST /api/v1/orchestration/runs.
func (a *api) startREST(ctx context.Context, packageID, propertyID string) (string, error) {
	body, err := json.Marshal(map[string]any{"packageId": packageID, "propertyId": propertyID})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.server+"/api/v1/orchestration/runs", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("POST /api/v1/orchestration/runs: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("reading the answer of POST /api/v1/orchestration/runs: %w", err)
	}
	var out struct {
		ID    string        `json:"id"`
		Error *cli.APIError `json:"error"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", &protocolError{fmt.Sprintf("POST /api/v1/orchestration/runs answered %d with no JSON", resp.StatusCode)}
	}
	if resp.StatusCode/100 != 2 {
		if out.Error != nil && out.Error.Code != "" {
			if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
				out.Error.RetryAfter = time.Duration(secs) * time.Second
			}
			return "", out.Error
		}
		return "", &protocolError{fmt.Sprintf("POST /api/v1/orchestration/runs answered %d", resp.StatusCode)}
	}
	if out.ID == "" {
		return "", &protocolError{"POST /api/v1/orchestration/runs answered no run ID"}
	}
	return out.ID, nil
}

// packageID finds the package's ID by its key.
func (a *api) packageID(ctx context.Context, key string) (string, error) {
	var out struct {
		Packages struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	err := a.graphql(ctx, `query LoadPackage($key: String!) { packages(first: 1, where: {key: $key}) { edges { node { id } } } }`,
		map[string]any{"key": key}, &out)
	if err != nil {
		return "", fmt.Errorf("finding package %q: %w", key, err)
	}
	if len(out.Packages.Edges) == 0 {
		return "", fmt.Errorf("--package: the server has no package with the key %q", key)
	}
	return out.Packages.Edges[0].Node.ID, nil
}

// propertyIDs lists up to 100 properties the token sees.
func (a *api) propertyIDs(ctx context.Context) ([]string, error) {
	var out struct {
		Properties struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	if err := a.graphql(ctx, `query LoadProperties { properties(first: 100) { edges { node { id } } } }`, nil, &out); err != nil {
		return nil, fmt.Errorf("listing properties: %w", err)
	}
	ids := make([]string, 0, len(out.Properties.Edges))
	for _, e := range out.Properties.Edges {
		ids = append(ids, e.Node.ID)
	}
	if len(ids) == 0 {
		return nil, errors.New("the organization has no property to start runs on: import some (estateflow import) or serve a new database with --demo, or give --property")
	}
	return ids, nil
}

// listQuery is the list query mixed into the load: a page of properties
// with each one's count of runs, what a dashboard asks for.
const listQuery = `query LoadList { properties(first: 50) { edges { node { id runs(first: 10) { totalCount } } } } }`

func (a *api) list(ctx context.Context) error {
	var out struct {
		Properties struct {
			Edges []json.RawMessage
		}
	}
	return a.graphql(ctx, listQuery, nil, &out)
}

// timed runs f and returns its duration.
func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}
