package app

import (
	"testing"
)

// TestNewListingRunOnDemoData starts the built-in New Listing package on a
// demo listing over GraphQL and reads its CMA and strategy field by field.
func TestNewListingRunOnDemoData(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{demo: true})
	prop, pkg := api.activeListingAndNewListing(t)
	var started struct {
		StartRun struct{ ID string } `json:"startRun"`
	}
	api.do(`mutation($pkg: ID!, $prop: ID!) { startRun(input: {packageId: $pkg, propertyId: $prop, params: {listingStartDate: "2026-11-21"}}) { id } }`,
		map[string]any{"pkg": pkg, "prop": prop}).ok(t, &started)

	const q = `query($id: ID!) { node(id: $id) { ... on Run { status steps { key status error output {
		__typename
		... on CMAReport { estimatedValue valueLow valueHigh confidence confidenceReason medianPricePerSqft
			comps { propertyId distanceMiles salePrice adjustedPrice weight adjustments { feature amount percent reason } }
			otherComps { weight }
			marketRates { feature percentPercentPerUnit: percentPerUnit used reason } market { activeListings saleToListRatio } }
		... on ListingStrategy { market { temperature reason } usps { feature claim }
			pricingOptions { name price rationale minDaysOnMarket maxDaysOnMarket risk }
			audienceSegments { segment reason } timeline { name date } negotiationPlays { play when } }
		... on MarketingCampaign { price headlines description bullets budget channels { channel share amount reason }
			launchDate fairHousing { passed termsChecked removed } }
		... on SocialSchedule { posts { platform scheduledAt text } skipped minGapHours reason }
	} } } } }`
	type step struct {
		Key, Status string
		Error       *string
		Output      map[string]any
	}
	var run struct {
		Node struct {
			Status string
			Steps  []step
		} `json:"node"`
	}
	api.waitRun(t, mustInt(t, started.StartRun.ID))
	api.do(q, map[string]any{"id": started.StartRun.ID}).ok(t, &run)
	steps := map[string]step{}
	for _, s := range run.Node.Steps {
		steps[s.Key] = s
	}
	cma, strat := steps["cma"], steps["strategy"]
	if cma.Status != "SUCCEEDED" || strat.Status != "SUCCEEDED" {
		t.Fatalf("cma %s (%v), strategy %s (%v)", cma.Status, cma.Error, strat.Status, strat.Error)
	}
	report := cma.Output
	if report["__typename"] != "CMAReport" || report["estimatedValue"].(float64) <= 0 {
		t.Fatalf("CMA output %v", report)
	}
	low, value, high := report["valueLow"].(float64), report["estimatedValue"].(float64), report["valueHigh"].(float64)
	if !(low <= value && value <= high) {
		t.Fatalf("range %v ≤ %v ≤ %v does not hold", low, value, high)
	}
	comps := report["comps"].([]any)
	var weights float64
	for _, c := range comps {
		weights += c.(map[string]any)["weight"].(float64)
	}
	// The value's comps beyond those shown carry the rest of the weight.
	if other, ok := report["otherComps"].(map[string]any); ok {
		weights += other["weight"].(float64)
	}
	if len(comps) < 3 || weights < 0.99 || weights > 1.01 {
		t.Fatalf("%d comps with weights summing to %v", len(comps), weights)
	}
	if strat.Output["__typename"] != "ListingStrategy" || len(strat.Output["pricingOptions"].([]any)) != 3 ||
		len(strat.Output["timeline"].([]any)) != 6 || len(strat.Output["audienceSegments"].([]any)) == 0 {
		t.Fatalf("strategy output %v", strat.Output)
	}
	if first := strat.Output["timeline"].([]any)[0].(map[string]any)["date"]; first != "2026-11-23T00:00:00Z" {
		t.Fatalf("preparation starts %v, want Monday 2026-11-23 after the Saturday start", first)
	}
	if run.Node.Status != "SUCCEEDED" {
		t.Fatalf("run %s: %+v", run.Node.Status, run.Node.Steps)
	}
	campaign, social := steps["campaign"].Output, steps["social"].Output
	if campaign["__typename"] != "MarketingCampaign" || campaign["budget"] != 1500.0 || len(campaign["headlines"].([]any)) == 0 {
		t.Fatalf("campaign %v", campaign)
	}
	var spent float64
	for _, c := range campaign["channels"].([]any) {
		spent += c.(map[string]any)["amount"].(float64)
	}
	if spent != 1500 {
		t.Fatalf("channels spend %v of 1500", spent)
	}
	posts := social["posts"].([]any)
	if social["__typename"] != "SocialSchedule" || len(posts) == 0 {
		t.Fatalf("social schedule %v", social)
	}
	var stored struct {
		ScheduledPosts struct {
			TotalCount int `json:"totalCount"`
		} `json:"scheduledPosts"`
		Node struct {
			ScheduledPosts struct {
				TotalCount int `json:"totalCount"`
			} `json:"scheduledPosts"`
		} `json:"node"`
	}
	api.do(`query($id: ID!) { scheduledPosts(first: 1) { totalCount } node(id: $id) { ... on Property { scheduledPosts(first: 1) { totalCount } } } }`,
		map[string]any{"id": prop}).ok(t, &stored)
	if stored.ScheduledPosts.TotalCount != len(posts) || stored.Node.ScheduledPosts.TotalCount != len(posts) {
		t.Fatalf("stored posts %+v, planned %d", stored, len(posts))
	}

	// The standalone query runs the same code on the same property.
	var direct struct {
		Cma struct{ EstimatedValue float64 } `json:"cma"`
	}
	api.do(`query($id: ID!) { cma(propertyId: $id) { estimatedValue } }`, map[string]any{"id": prop}).ok(t, &direct)
	if direct.Cma.EstimatedValue != value {
		t.Fatalf("cma query %v, step %v", direct.Cma.EstimatedValue, value)
	}
}

// TestStartRunRefusesBadParams: a parameter the New Listing steps would
// reject three steps into the run is refused at startRun, and no run is
// created.
func TestStartRunRefusesBadParams(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{demo: true})
	prop, pkg := api.activeListingAndNewListing(t)
	const start = `mutation($pkg: ID!, $prop: ID!, $params: Map) { startRun(input: {packageId: $pkg, propertyId: $prop, params: $params}) { id } }`
	for _, tt := range []struct {
		params map[string]any
		field  string
	}{
		{map[string]any{"marketingBudget": -500}, "input.params.marketingBudget"},
		{map[string]any{"marketingBudget": "lots"}, "input.params.marketingBudget"},
		{map[string]any{"listingStartDate": "next week"}, "input.params.listingStartDate"},
		{map[string]any{"marketingbudget": 2500}, "input.params.marketingbudget"},
	} {
		api.do(start, map[string]any{"pkg": pkg, "prop": prop, "params": tt.params}).
			wantError(t, "BAD_USER_INPUT", tt.field)
	}
	if n, err := api.ent().Run.Query().Count(api.ctx()); err != nil || n != 0 {
		t.Fatalf("%d runs (%v) after refused starts, want none", n, err)
	}
	// A literal in the document reaches the check as an integer.
	api.do(`mutation($pkg: ID!, $prop: ID!) { startRun(input: {packageId: $pkg, propertyId: $prop, params: {marketingBudget: 2500}}) { id } }`,
		map[string]any{"pkg": pkg, "prop": prop}).ok(t, nil)
}

// activeListingAndNewListing returns the ID of an ACTIVE demo property and
// of the built-in New Listing package.
func (a *testAPI) activeListingAndNewListing(t *testing.T) (propertyID, packageID string) {
	t.Helper()
	var setup struct {
		Properties struct {
			Edges []struct{ Node struct{ ID string } } `json:"edges"`
		} `json:"properties"`
		Packages struct {
			Edges []struct{ Node struct{ ID string } } `json:"edges"`
		} `json:"packages"`
	}
	a.do(`{ properties(first: 1, where: {status: ACTIVE}) { edges { node { id } } }
		packages(first: 1, where: {key: "new-listing"}) { edges { node { id } } } }`, nil).ok(t, &setup)
	if len(setup.Properties.Edges) == 0 || len(setup.Packages.Edges) == 0 {
		t.Fatal("the demo data has no ACTIVE property or no new-listing package")
	}
	return setup.Properties.Edges[0].Node.ID, setup.Packages.Edges[0].Node.ID
}
