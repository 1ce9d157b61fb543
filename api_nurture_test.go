package main

import (
	"testing"
	"time"
)

// TestLeadScoringOnDemoData scores two demo clients through the Lead
// Nurture package and reads the typed scores, the clients ordered by score,
// and the score history.
func TestLeadScoringOnDemoData(t *testing.T) {
	t.Parallel()
	api := newDemoTestAPI(t)
	var setup struct {
		Clients struct {
			Edges []struct{ Node struct{ ID string } } `json:"edges"`
		} `json:"clients"`
		Packages struct {
			Edges []struct{ Node struct{ ID string } } `json:"edges"`
		} `json:"packages"`
	}
	api.do(`{ clients(first: 2, orderBy: {field: NAME}) { edges { node { id } } }
		packages(first: 1, where: {key: "lead-nurture"}) { edges { node { id } } } }`, nil).ok(t, &setup)
	pkg := setup.Packages.Edges[0].Node.ID
	scores := map[string]float64{}
	for _, c := range setup.Clients.Edges {
		var started struct {
			StartRun struct{ ID string } `json:"startRun"`
		}
		api.do(`mutation($pkg: ID!, $client: ID!) { startRun(input: {packageId: $pkg, clientId: $client}) { id } }`,
			map[string]any{"pkg": pkg, "client": c.Node.ID}).ok(t, &started)
		var run struct {
			Node struct {
				Status string
				Steps  []struct {
					Key, Status string
					Output      map[string]any
				}
			} `json:"node"`
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			api.do(`query($id: ID!) { node(id: $id) { ... on Run { status steps { key status output { __typename
				... on LeadScore { clientId score tier scoredAt factors { factor value points maxPoints reason } } } } } } }`,
				map[string]any{"id": started.StartRun.ID}).ok(t, &run)
			if run.Node.Status == "FAILED" || run.Node.Status == "SUCCEEDED" || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		score := run.Node.Steps[0]
		if score.Key != "score" || score.Status != "SUCCEEDED" || score.Output["__typename"] != "LeadScore" {
			t.Fatalf("scoring step %+v", score)
		}
		var points float64
		for _, f := range score.Output["factors"].([]any) {
			points += f.(map[string]any)["points"].(float64)
		}
		if points != score.Output["score"].(float64) || len(score.Output["factors"].([]any)) != 5 {
			t.Fatalf("factors do not add up to the score: %v", score.Output)
		}
		scores[c.Node.ID] = points
	}
	var ordered struct {
		Clients struct {
			Edges []struct {
				Node struct {
					ID           string
					LeadScore    *float64 `json:"leadScore"`
					LeadTier     *string  `json:"leadTier"`
					ScoreHistory struct {
						TotalCount int `json:"totalCount"`
					} `json:"scoreHistory"`
				}
			} `json:"edges"`
		} `json:"clients"`
	}
	api.do(`{ clients(first: 2, orderBy: {field: LEAD_SCORE, direction: DESC}, where: {leadScoreNotNil: true}) {
		edges { node { id leadScore leadTier scoreHistory(first: 5) { totalCount } } } } }`, nil).ok(t, &ordered)
	edges := ordered.Clients.Edges
	if len(edges) != 2 || *edges[0].Node.LeadScore < *edges[1].Node.LeadScore {
		t.Fatalf("clients by score: %+v", edges)
	}
	for _, e := range edges {
		if *e.Node.LeadScore != scores[e.Node.ID] || e.Node.LeadTier == nil || e.Node.ScoreHistory.TotalCount != 1 {
			t.Fatalf("client %s: stored %v (%v), history %d; the run scored %v", e.Node.ID, *e.Node.LeadScore, e.Node.LeadTier, e.Node.ScoreHistory.TotalCount, scores[e.Node.ID])
		}
	}
}
