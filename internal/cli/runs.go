package cli

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// StartRequest starts a run of the package with a key.
type StartRequest struct {
	PackageKey     string
	PropertyID     string // one of PropertyID and ClientID
	ClientID       string
	Params         map[string]any
	IdempotencyKey string
}

// StepInfo is a step of a run.
type StepInfo struct {
	Key        string     `json:"key"`
	Name       string     `json:"name"`
	Kind       string     `json:"kind"`
	Status     string     `json:"status"`
	Progress   float64    `json:"progress"`
	Attempt    int        `json:"attempt"`
	Message    string     `json:"message"`
	Error      *string    `json:"error"`
	StartedAt  *time.Time `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt"`
}

// RunInfo is a run and its steps.
type RunInfo struct {
	ID         string     `json:"id"`
	Status     string     `json:"status"`
	Progress   float64    `json:"progress"`
	Error      *string    `json:"error"`
	CreatedAt  time.Time  `json:"createdAt"`
	StartedAt  *time.Time `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt"`
	Package    struct {
		Key     string `json:"key"`
		Version int    `json:"version"`
	} `json:"package"`
	PackageVersion int        `json:"packageVersion"`
	LastSeq        int        `json:"-"`
	Steps          []StepInfo `json:"steps"`
}

const runFields = `id status progress error createdAt startedAt finishedAt packageVersion package { key }
  steps { key name kind status progress attempt message error startedAt finishedAt }`

// StartRun finds the package by key and starts a run of its current
// version.
func (c *Client) StartRun(ctx context.Context, req StartRequest) (RunInfo, error) {
	var pkgs struct {
		Packages struct {
			Edges []struct {
				Node struct{ ID, Key string }
			}
		}
	}
	err := c.Do(ctx, `query PackageByKey($key: String!) { packages(first: 1, where: {key: $key}) { edges { node { id key } } } }`,
		map[string]any{"key": req.PackageKey}, &pkgs)
	if err != nil {
		return RunInfo{}, err
	}
	if len(pkgs.Packages.Edges) == 0 {
		return RunInfo{}, withCode(ExitConnection, &APIError{Code: "NOT_FOUND", Field: "PACKAGE-KEY",
			Message: fmt.Sprintf("no package has the key %q (estateflow runs lists runs; GraphQL's packages query lists packages)", req.PackageKey)})
	}
	in := map[string]any{"packageId": pkgs.Packages.Edges[0].Node.ID}
	if req.PropertyID != "" {
		in["propertyId"] = req.PropertyID
	}
	if req.ClientID != "" {
		in["clientId"] = req.ClientID
	}
	if len(req.Params) > 0 {
		in["params"] = req.Params
	}
	if req.IdempotencyKey != "" {
		in["idempotencyKey"] = req.IdempotencyKey
	}
	var out struct{ StartRun RunInfo }
	err = c.Do(ctx, `mutation StartRun($in: StartRunInput!) { startRun(input: $in) { `+runFields+` } }`,
		map[string]any{"in": in}, &out)
	return out.StartRun, err
}

// Run reads a run and its steps.
func (c *Client) Run(ctx context.Context, id string) (RunInfo, error) {
	var out struct {
		Node *RunInfo `json:"node"`
	}
	if err := c.Do(ctx, `query Run($id: ID!) { node(id: $id) { ... on Run { `+runFields+` } } }`, map[string]any{"id": id}, &out); err != nil {
		return RunInfo{}, err
	}
	if out.Node == nil || out.Node.ID == "" {
		return RunInfo{}, withCode(ExitConnection, &APIError{Code: "NOT_FOUND", Field: "id", Message: fmt.Sprintf("run %s not found", id)})
	}
	return *out.Node, nil
}

// RunsFilter selects a page of runs, newest first.
type RunsFilter struct {
	Status     string // a RunStatus, or "" for any
	PackageKey string // "" for any
	First      int
	After      string // the cursor of the previous page's end
}

// RunsPage is a page of runs and the cursor of the next one.
type RunsPage struct {
	Runs       []RunInfo
	NextCursor string // "" on the last page
	Total      int
}

// ListRuns reads a page of the organization's runs, newest first.
func (c *Client) ListRuns(ctx context.Context, f RunsFilter) (RunsPage, error) {
	where := map[string]any{}
	if f.Status != "" {
		where["status"] = f.Status
	}
	if f.PackageKey != "" {
		where["hasPackageWith"] = []map[string]any{{"key": f.PackageKey}}
	}
	vars := map[string]any{"first": f.First, "where": where}
	if f.After != "" {
		vars["after"] = f.After
	}
	var out struct {
		Runs struct {
			TotalCount int `json:"totalCount"`
			PageInfo   struct {
				HasNextPage bool   `json:"hasNextPage"`
				EndCursor   string `json:"endCursor"`
			} `json:"pageInfo"`
			Edges []struct{ Node RunInfo } `json:"edges"`
		}
	}
	err := c.Do(ctx, `query Runs($first: Int, $after: Cursor, $where: RunWhereInput) {
  runs(first: $first, after: $after, where: $where, orderBy: {field: CREATED_AT, direction: DESC}) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id status progress createdAt startedAt finishedAt packageVersion package { key } } }
  }
}`, vars, &out)
	if err != nil {
		return RunsPage{}, err
	}
	page := RunsPage{Total: out.Runs.TotalCount}
	for _, e := range out.Runs.Edges {
		page.Runs = append(page.Runs, e.Node)
	}
	if out.Runs.PageInfo.HasNextPage {
		page.NextCursor = out.Runs.PageInfo.EndCursor
	}
	return page, nil
}

// Report downloads a run's report in a format (md, json, csv, html).
func (c *Client) Report(ctx context.Context, runID, format string) ([]byte, error) {
	return c.Get(ctx, "/api/v1/runs/"+url.PathEscape(runID)+"/report?format="+url.QueryEscape(format))
}
