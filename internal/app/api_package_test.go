package app

import (
	"strings"
	"testing"

	"github.com/estateflow/estateflow/ent/packagestep"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

type stepIn = map[string]any

func step(key string, kind stepkind.Kind, deps ...string) stepIn {
	return stepIn{"key": key, "name": strings.ToUpper(key[:1]) + key[1:], "kind": string(kind), "dependsOn": deps}
}

const createPackage = `mutation($input: CreatePackageInput!) { createPackage(input: $input) { id key version subject steps { key kind dependsOn position } } }`

func TestCreatePackage(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	var out struct {
		CreatePackage struct {
			ID      string `json:"id"`
			Version int    `json:"version"`
			Steps   []struct {
				Key       string   `json:"key"`
				DependsOn []string `json:"dependsOn"`
				Position  int      `json:"position"`
			} `json:"steps"`
		} `json:"createPackage"`
	}
	api.do(createPackage, map[string]any{"input": map[string]any{
		"key": "fast-listing", "name": "Fast listing", "subject": "PROPERTY",
		"steps": []stepIn{
			step("cma", stepkind.CMAAnalysis),
			step("strategy", stepkind.ListingStrategy, "cma"),
			step("campaign", stepkind.MarketingCampaign, "strategy"),
			step("social", stepkind.SocialScheduling, "campaign", "cma"),
		},
	}}).ok(t, &out)
	p := out.CreatePackage
	if p.Version != 1 || len(p.Steps) != 4 || p.Steps[3].Key != "social" || p.Steps[3].Position != 3 || len(p.Steps[3].DependsOn) != 2 {
		t.Fatalf("created package = %+v", p)
	}
}

func TestCreatePackageValidation(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	before := api.count("package")
	tests := []struct {
		name      string
		subject   string
		steps     []stepIn
		wantField string
		wantText  string
	}{
		{
			name:      "unknown kind",
			subject:   "PROPERTY",
			steps:     []stepIn{step("cma", stepkind.CMAAnalysis), step("magic", "TELEPORT", "cma")},
			wantField: "input.steps[1].kind",
			wantText:  "TELEPORT",
		},
		{
			name:      "duplicate step key",
			subject:   "PROPERTY",
			steps:     []stepIn{step("cma", stepkind.CMAAnalysis), step("cma", stepkind.ListingStrategy)},
			wantField: "input.steps[1]",
			wantText:  `step "cma": duplicate`,
		},
		{
			name:      "dependsOn names no step",
			subject:   "CLIENT",
			steps:     []stepIn{step("score", stepkind.LeadScoring), step("email", stepkind.EmailSequence, "scoring")},
			wantField: "input.steps[1]",
			wantText:  `step "email": dependsOn names "scoring"`,
		},
		{
			name:    "cycle",
			subject: "CLIENT",
			steps: []stepIn{
				step("score", stepkind.LeadScoring, "follow-up"),
				step("email", stepkind.EmailSequence, "score"),
				step("follow-up", stepkind.FollowUpScheduling, "email"),
			},
			wantField: "input.steps[0]",
			wantText:  "cycle: score → follow-up → email → score",
		},
		{
			name:      "kind of the wrong subject",
			subject:   "PROPERTY",
			steps:     []stepIn{step("cma", stepkind.CMAAnalysis), step("score", stepkind.LeadScoring, "cma")},
			wantField: "input.steps[1].kind",
			wantText:  `step "score": a LEAD_SCORING step works on a CLIENT`,
		},
		{
			// README's old quick-listing: every run of it failed at the campaign.
			name:      "campaign without a listing strategy",
			subject:   "PROPERTY",
			steps:     []stepIn{step("cma", stepkind.CMAAnalysis), step("campaign", stepkind.MarketingCampaign, "cma")},
			wantField: "input.steps[1].dependsOn",
			wantText:  `step "campaign": a MARKETING_CAMPAIGN step reads the output of a LISTING_STRATEGY step`,
		},
		{
			name:      "no steps",
			subject:   "PROPERTY",
			steps:     []stepIn{},
			wantField: "input.steps",
			wantText:  "at least one step",
		},
		{
			// Caught by the database layer after the package row is
			// written: the transaction must take the row back.
			name:      "step key too long",
			subject:   "PROPERTY",
			steps:     []stepIn{step(strings.Repeat("k", 65), stepkind.CMAAnalysis)},
			wantField: "input.key",
			wantText:  "key",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := api.do(createPackage, map[string]any{"input": map[string]any{
				"key": "bad-package", "name": "Bad", "subject": tt.subject, "steps": tt.steps,
			}})
			e := resp.wantError(t, "BAD_USER_INPUT", tt.wantField)
			if !strings.Contains(e.Message, tt.wantText) {
				t.Fatalf("message %q does not contain %q", e.Message, tt.wantText)
			}
			if n := api.count("package"); n != before {
				t.Fatalf("%d packages after a rejected create, want %d", n, before)
			}
		})
	}
}

func TestUpdatePackageCreatesNextVersion(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	var created struct {
		CreatePackage struct {
			ID string `json:"id"`
		} `json:"createPackage"`
	}
	api.do(createPackage, map[string]any{"input": map[string]any{
		"key": "nurture-lite", "name": "Nurture lite", "subject": "CLIENT",
		"steps": []stepIn{step("score", stepkind.LeadScoring), step("email", stepkind.EmailSequence, "score")},
	}}).ok(t, &created)
	pkgID := created.CreatePackage.ID

	// A run pinned to version 1, with its snapshot of the steps.
	ctx := api.ctx()
	client, err := api.ent().Contact.Create().SetName("Lee").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	run, err := api.ent().Run.Create().SetPackageID(mustInt(t, pkgID)).SetPackageVersion(1).SetClientID(client.ID).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, key := range []string{"score", "email"} {
		kind := map[string]stepkind.Kind{"score": stepkind.LeadScoring, "email": stepkind.EmailSequence}[key]
		if _, err := api.ent().StepRun.Create().SetRunID(run.ID).SetKey(key).SetName(key).SetKind(kind).SetPosition(i).Save(ctx); err != nil {
			t.Fatal(err)
		}
	}

	var updated struct {
		UpdatePackage struct {
			Version int    `json:"version"`
			Name    string `json:"name"`
			Steps   []struct {
				Key string `json:"key"`
			} `json:"steps"`
		} `json:"updatePackage"`
	}
	api.do(`mutation($id: ID!, $in: UpdatePackageInput!) { updatePackage(id: $id, input: $in) { version name steps { key } } }`,
		map[string]any{"id": pkgID, "in": map[string]any{
			"name": "Nurture lite v2",
			"steps": []stepIn{
				step("score", stepkind.LeadScoring),
				step("targeting", stepkind.SocialTargeting, "score"),
				step("follow-up", stepkind.FollowUpScheduling, "targeting"),
			},
		}}).ok(t, &updated)
	u := updated.UpdatePackage
	if u.Version != 2 || u.Name != "Nurture lite v2" || len(u.Steps) != 3 || u.Steps[1].Key != "targeting" {
		t.Fatalf("updated package = %+v", u)
	}
	if n, err := api.ent().PackageStep.Query().Where(packagestep.PackageID(mustInt(t, pkgID))).Count(ctx); err != nil || n != 3 {
		t.Fatalf("%d package steps stored (%v), want the 3 of version 2", n, err)
	}

	var pinned struct {
		Node struct {
			PackageVersion int `json:"packageVersion"`
			Steps          []struct {
				Key string `json:"key"`
			} `json:"steps"`
		} `json:"node"`
	}
	api.do(`query($id: ID!) { node(id: $id) { ... on Run { packageVersion steps { key } } } }`, map[string]any{"id": run.ID}).ok(t, &pinned)
	if pinned.Node.PackageVersion != 1 || len(pinned.Node.Steps) != 2 || pinned.Node.Steps[1].Key != "email" {
		t.Fatalf("run pinned to version 1 changed: %+v", pinned.Node)
	}

	// A rejected update changes nothing, not even the version.
	api.do(`mutation($id: ID!) { updatePackage(id: $id, input: {steps: [{key: "a", name: "A", kind: CMA_ANALYSIS}]}) { version } }`,
		map[string]any{"id": pkgID}).wantError(t, "BAD_USER_INPUT", "input.steps[0].kind")
	var after struct {
		Node struct {
			Version int `json:"version"`
		} `json:"node"`
	}
	api.do(`query($id: ID!) { node(id: $id) { ... on Package { version } } }`, map[string]any{"id": pkgID}).ok(t, &after)
	if after.Node.Version != 2 {
		t.Fatalf("version after a rejected update = %d, want 2", after.Node.Version)
	}

	var archived struct {
		ArchivePackage struct {
			Archived bool `json:"archived"`
		} `json:"archivePackage"`
	}
	api.do(`mutation($id: ID!) { archivePackage(id: $id) { archived } }`, map[string]any{"id": pkgID}).ok(t, &archived)
	if !archived.ArchivePackage.Archived {
		t.Fatal("package not archived")
	}
	api.do(`mutation($id: ID!) { updatePackage(id: $id, input: {name: "again"}) { version } }`, map[string]any{"id": pkgID}).
		wantError(t, "CONFLICT", "id")
}

func TestRunOperationsOnUnknownRun(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	api.do(`mutation { cancelRun(id: 21474836999) { id } }`, nil).wantError(t, "NOT_FOUND", "id")
	api.do(`mutation { retryRun(id: 21474836999) { id } }`, nil).wantError(t, "NOT_FOUND", "id")
}
