package app

import (
	"strings"
	"testing"
)

// TestLeadScoringOnDemoData scores two demo clients through the Lead
// Nurture package and reads the typed scores, the clients ordered by score,
// and the score history.
func TestLeadScoringOnDemoData(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{demo: true})
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
		api.waitRun(t, mustInt(t, started.StartRun.ID))
		api.do(`query($id: ID!) { node(id: $id) { ... on Run { status steps { key status output { __typename
			... on LeadScore { clientId score tier scoredAt factors { factor value points maxPoints reason } } } } } } }`,
			map[string]any{"id": started.StartRun.ID}).ok(t, &run)
		score := run.Node.Steps[0]
		if score.Key != "score" || score.Status != "SUCCEEDED" || score.Output["__typename"] != "LeadScore" {
			t.Fatalf("scoring step %+v", score)
		}
		var points float64
		for _, f := range score.Output["factors"].([]any) {
			points += f.(map[string]any)["points"].(float64)
		}
		if points != score.Output["score"].(float64) || len(score.Output["factors"].([]any)) != 6 {
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

// TestScoreAndFollowUpPackage runs a custom package, LEAD_SCORING then
// FOLLOW_UP_SCHEDULING, and finds the planned tasks through the tasks
// connection and the client's tasks edge.
func TestScoreAndFollowUpPackage(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{demo: true})
	var created struct {
		CreatePackage struct{ ID string } `json:"createPackage"`
		CreateClient  struct{ ID string } `json:"createClient"`
	}
	api.do(`mutation {
		createPackage(input: {key: "score-and-follow-up", name: "Score and follow up", subject: CLIENT, steps: [
			{key: "score", name: "Score", kind: LEAD_SCORING},
			{key: "follow-up", name: "Follow up", kind: FOLLOW_UP_SCHEDULING, dependsOn: ["score"]}]}) { id }
		createClient(input: {name: "Noor Haddad", phone: "+1-512-555-0142", source: REFERRAL, preApproved: true, moveTimeline: 1, smsOptIn: false}) { id } }`, nil).ok(t, &created)
	var deal struct {
		CreateProperty struct{ ID string } `json:"createProperty"`
	}
	api.do(`mutation { createProperty(input: {city: "Austin", latitude: 30.2, longitude: -97.7}) { id } }`, nil).ok(t, &deal)
	var tx struct {
		CreateTransaction struct{ ID string } `json:"createTransaction"`
	}
	api.do(`mutation($c: ID!, $p: ID!) { createTransaction(input: {clientID: $c, propertyID: $p, side: BUYER}) { id } }`,
		map[string]any{"c": created.CreateClient.ID, "p": deal.CreateProperty.ID}).ok(t, &tx)
	var started struct {
		StartRun struct{ ID string } `json:"startRun"`
	}
	api.do(`mutation($pkg: ID!, $client: ID!) { startRun(input: {packageId: $pkg, clientId: $client}) { id } }`,
		map[string]any{"pkg": created.CreatePackage.ID, "client": created.CreateClient.ID}).ok(t, &started)
	var run struct {
		Node struct {
			Status string
			Steps  []struct {
				Key    string
				Output map[string]any
			}
		} `json:"node"`
	}
	api.waitRun(t, mustInt(t, started.StartRun.ID))
	api.do(`query($id: ID!) { node(id: $id) { ... on Run { status steps { key output { __typename
		... on LeadScore { score tier }
		... on FollowUpPlan { tier reason transactionId tasks { type title dueAt notes } } } } } } }`,
		map[string]any{"id": started.StartRun.ID}).ok(t, &run)
	if run.Node.Status != "SUCCEEDED" {
		t.Fatalf("run %s: %+v", run.Node.Status, run.Node.Steps)
	}
	score, plan := run.Node.Steps[0].Output, run.Node.Steps[1].Output
	// Moving within a month 30 + pre-approved 20 + referral 10 + a lead
	// entered today 10, nothing else: 70, HOT.
	if score["score"] != 70.0 || score["tier"] != "HOT" || plan["__typename"] != "FollowUpPlan" || plan["tier"] != "HOT" {
		t.Fatalf("score %v, plan %v", score, plan)
	}
	if plan["transactionId"] != tx.CreateTransaction.ID {
		t.Fatalf("plan linked to %v, want the open transaction %s", plan["transactionId"], tx.CreateTransaction.ID)
	}
	// No text consent and no email address: the text and the email of the
	// hot cadence become calls.
	tasks := plan["tasks"].([]any)
	var types []string
	for _, tk := range tasks {
		types = append(types, tk.(map[string]any)["type"].(string))
	}
	last := tasks[len(tasks)-1].(map[string]any)
	if strings.Join(types, ",") != "CALL,CALL,MEETING,CALL,CALL" || !strings.Contains(last["notes"].(string), "No email address on record") {
		t.Fatalf("hot plan without text consent or email: %v", tasks)
	}
	var stored struct {
		Tasks struct {
			TotalCount int `json:"totalCount"`
		} `json:"tasks"`
		Node struct {
			Tasks struct {
				Edges []struct {
					Node struct {
						Type, Status, Title, Notes string
						Run                        struct{ ID string }
						Client                     struct{ ID string }
					}
				} `json:"edges"`
			} `json:"tasks"`
		} `json:"node"`
	}
	api.do(`query($client: ID!) { tasks(first: 10, where: {status: OPEN, hasTransaction: true}) { totalCount }
		node(id: $client) { ... on Client { tasks(first: 10, orderBy: {field: DUE_AT}) { edges { node { type status title notes run { id } client { id } } } } } } }`,
		map[string]any{"client": created.CreateClient.ID}).ok(t, &stored)
	if stored.Tasks.TotalCount != 5 || len(stored.Node.Tasks.Edges) != 5 || stored.Node.Tasks.Edges[0].Node.Title != "Call Noor Haddad first: hot lead" {
		t.Fatalf("stored tasks %+v", stored)
	}
	// Every task links to its client and to the run that made it, and its
	// notes say why it exists.
	for _, e := range stored.Node.Tasks.Edges {
		n := e.Node
		if n.Run.ID != started.StartRun.ID || n.Client.ID != created.CreateClient.ID ||
			!strings.Contains(n.Notes, "Why: Score and follow up run "+started.StartRun.ID) || !strings.Contains(n.Notes, "lead score 70/100, HOT") {
			t.Fatalf("task %+v", n)
		}
	}
}

// TestLeadNurtureHotAndCold runs the built-in Lead Nurture package for a
// hot and a cold client: the plans differ as the tiers say, and every
// record can be queried.
func TestLeadNurtureHotAndCold(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{demo: true})
	var setup struct {
		Packages struct {
			Edges []struct{ Node struct{ ID string } } `json:"edges"`
		} `json:"packages"`
		Hot  struct{ ID string } `json:"hot"`
		Cold struct{ ID string } `json:"cold"`
	}
	api.do(`mutation {
		hot: createClient(input: {name: "Hana Hot", email: "hana@example.com", source: REFERRAL, preApproved: true, moveTimeline: 1,
			budgetMin: 300000, budgetMax: 2500000, emailOptIn: true, smsOptIn: true}) { id }
		cold: createClient(input: {name: "Colin Cold", email: "colin@example.com", source: OTHER, emailOptIn: true}) { id } }`, nil).ok(t, &setup)
	for range 3 {
		api.do(`mutation($c: ID!) { createInteraction(input: {clientID: $c, type: MEETING}) { id } }`, map[string]any{"c": setup.Hot.ID}).ok(t, nil)
	}
	api.do(`{ packages(first: 1, where: {key: "lead-nurture"}) { edges { node { id } } } }`, nil).ok(t, &setup)
	pkg := setup.Packages.Edges[0].Node.ID

	type plan struct {
		tier                  string
		emails, tasks, checks int
	}
	run := func(client string) plan {
		var started struct {
			StartRun struct{ ID string } `json:"startRun"`
		}
		api.do(`mutation($pkg: ID!, $c: ID!) { startRun(input: {packageId: $pkg, clientId: $c}) { id } }`,
			map[string]any{"pkg": pkg, "c": client}).ok(t, &started)
		var r struct {
			Node struct {
				Status string
				Steps  []struct {
					Key    string
					Output map[string]any
				}
			} `json:"node"`
		}
		api.waitRun(t, mustInt(t, started.StartRun.ID))
		api.do(`query($id: ID!) { node(id: $id) { ... on Run { status steps { key output { __typename
			... on LeadScore { tier }
			... on EmailSequence { consent messages { subject scheduledAt } }
			... on SocialTargeting { basis reason audience { radiusMiles specialAdCategory } compliance { rule result } listings { rank reason } }
			... on FollowUpPlan { tasks { type dueAt } } } } } } }`, map[string]any{"id": started.StartRun.ID}).ok(t, &r)
		if r.Node.Status != "SUCCEEDED" {
			t.Fatalf("run %s: %+v", r.Node.Status, r.Node.Steps)
		}
		out := map[string]map[string]any{}
		for _, s := range r.Node.Steps {
			out[s.Key] = s.Output
		}
		if a, ok := out["targeting"]["audience"].(map[string]any); ok && a["radiusMiles"].(float64) < 15 {
			t.Fatalf("targeting radius under 15 miles: %v", out["targeting"])
		}
		if out["targeting"]["audience"] == nil && out["targeting"]["basis"] != "NONE" {
			t.Fatalf("no audience, basis %v", out["targeting"])
		}
		return plan{
			tier:   out["score"]["tier"].(string),
			emails: len(out["email"]["messages"].([]any)),
			tasks:  len(out["follow-up"]["tasks"].([]any)),
			checks: len(out["targeting"]["compliance"].([]any)),
		}
	}
	// The cold client has no budget, no areas and so no listing and nowhere
	// to aim an ad at: no audience and no compliance checks.
	hot, cold := run(setup.Hot.ID), run(setup.Cold.ID)
	if hot != (plan{"HOT", 3, 5, 6}) || cold != (plan{"COLD", 4, 3, 0}) {
		t.Fatalf("hot plan %+v, cold plan %+v", hot, cold)
	}
	var stored struct {
		EmailMessages struct {
			TotalCount int `json:"totalCount"`
		} `json:"emailMessages"`
		Tasks struct {
			TotalCount int `json:"totalCount"`
		} `json:"tasks"`
	}
	api.do(`{ emailMessages(first: 1, where: {status: SCHEDULED}) { totalCount } tasks(first: 1) { totalCount } }`, nil).ok(t, &stored)
	if stored.EmailMessages.TotalCount != 7 || stored.Tasks.TotalCount != 8 {
		t.Fatalf("stored %d emails and %d tasks, want 7 and 8", stored.EmailMessages.TotalCount, stored.Tasks.TotalCount)
	}
}
