package app

import (
	"context"
	"testing"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

func TestStartRunThroughAPI(t *testing.T) {
	t.Parallel()
	done := engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) { return map[string]any{"ok": true}, nil })
	api := newTestAPI(t, testOptions{executors: executorsOf(map[stepkind.Kind]engine.Executor{
		stepkind.CMAAnalysis: done, stepkind.ListingStrategy: done, stepkind.MarketingCampaign: done, stepkind.SocialScheduling: done,
	})})
	var setup struct {
		CreateProperty struct{ ID string } `json:"createProperty"`
		CreateClient   struct{ ID string } `json:"createClient"`
	}
	api.do(`mutation { createProperty(input: {city: "Austin", latitude: 30.2, longitude: -97.7}) { id } createClient(input: {name: "Bo"}) { id } }`, nil).ok(t, &setup)
	var pkgs struct {
		Packages struct {
			Edges []struct{ Node struct{ ID, Key string } } `json:"edges"`
		} `json:"packages"`
	}
	api.do(`{ packages(first: 10, orderBy: {field: KEY}) { edges { node { id key } } } }`, nil).ok(t, &pkgs)
	var listing struct{ ID, Key string }
	for _, e := range pkgs.Packages.Edges {
		if e.Node.Key == "new-listing" {
			listing = e.Node
		}
	}
	if listing.ID == "" {
		t.Fatalf("no new-listing among the packages: %+v", pkgs)
	}
	const start = `mutation($in: StartRunInput!) { startRun(input: $in) { id status packageVersion } }`

	api.do(start, map[string]any{"in": map[string]any{"packageId": listing.ID, "clientId": setup.CreateClient.ID}}).
		wantError(t, "BAD_USER_INPUT", "input.propertyId")
	api.do(start, map[string]any{"in": map[string]any{"packageId": listing.ID, "propertyId": "21474836999"}}).
		wantError(t, "NOT_FOUND", "input.propertyId")

	in := map[string]any{"packageId": listing.ID, "propertyId": setup.CreateProperty.ID, "idempotencyKey": "k1", "params": map[string]any{"budget": 1000}}
	var first, again struct {
		StartRun struct{ ID, Status string } `json:"startRun"`
	}
	api.do(start, map[string]any{"in": in}).ok(t, &first)
	api.do(start, map[string]any{"in": in}).ok(t, &again)
	if first.StartRun.ID != again.StartRun.ID {
		t.Fatalf("same idempotency key started two runs: %s and %s", first.StartRun.ID, again.StartRun.ID)
	}
	in["params"] = map[string]any{"budget": 2000}
	api.do(start, map[string]any{"in": in}).wantError(t, "CONFLICT", "input.idempotencyKey")

	var run struct {
		Node struct {
			Status   string
			Progress float64
			Steps    []struct {
				Key, Status string
				OutputJSON  map[string]any `json:"outputJSON"`
			}
		} `json:"node"`
	}
	api.waitRun(t, mustInt(t, first.StartRun.ID))
	api.do(`query($id: ID!) { node(id: $id) { ... on Run { status progress steps { key status outputJSON } } } }`,
		map[string]any{"id": first.StartRun.ID}).ok(t, &run)
	if run.Node.Status != "SUCCEEDED" || run.Node.Progress != 1 || len(run.Node.Steps) != 4 || run.Node.Steps[0].Key != "cma" || run.Node.Steps[3].OutputJSON["ok"] != true {
		t.Fatalf("run: %+v", run.Node)
	}
	api.do(`mutation($id: ID!) { cancelRun(id: $id) { id } }`, map[string]any{"id": first.StartRun.ID}).wantError(t, "CONFLICT", "id")
	api.do(`mutation($id: ID!) { retryRun(id: $id) { id } }`, map[string]any{"id": first.StartRun.ID}).wantError(t, "CONFLICT", "id")
}
