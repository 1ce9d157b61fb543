package modules_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/modules"
	"github.com/estateflow/estateflow/tenant"
)

// The kinds of the built-in packages, as the engine hands them over.
var (
	listingKinds = []string{string(stepkind.CMAAnalysis), string(stepkind.ListingStrategy), string(stepkind.MarketingCampaign), string(stepkind.SocialScheduling)}
	nurtureKinds = []string{string(stepkind.LeadScoring), string(stepkind.EmailSequence), string(stepkind.SocialTargeting), string(stepkind.FollowUpScheduling)}
)

func TestCheckParams(t *testing.T) {
	tests := []struct {
		name      string
		kinds     []string
		params    map[string]any
		wantField string // "" for accepted params
		wantText  string
	}{
		{name: "no params", kinds: listingKinds},
		{name: "valid budget and date", kinds: listingKinds, params: map[string]any{"marketingBudget": 2500.0, "listingStartDate": "2026-11-21"}},
		{name: "budget as a GraphQL variable", kinds: listingKinds, params: map[string]any{"marketingBudget": json.Number("2500")}},
		{name: "budget as a GraphQL literal", kinds: listingKinds, params: map[string]any{"marketingBudget": int64(2500)}},
		{name: "zero budget", kinds: listingKinds, params: map[string]any{"marketingBudget": 0.0}},
		{name: "largest budget", kinds: listingKinds, params: map[string]any{"marketingBudget": 10_000_000.0}},
		{name: "null takes the default", kinds: listingKinds, params: map[string]any{"marketingBudget": nil, "listingStartDate": nil}},
		{name: "CMA options", kinds: listingKinds, params: map[string]any{"asOf": "2026-06-01T00:00:00Z", "minComps": 4.0, "maxComps": 8.0, "maxRadiusMiles": 2.5, "maxLookbackMonths": 12.0}},
		{
			name: "negative budget", kinds: listingKinds, params: map[string]any{"marketingBudget": -5.0},
			wantField: "input.params.marketingBudget", wantText: "params.marketingBudget must be a number from 0 to 10000000, got -5",
		},
		{
			name: "budget over the limit", kinds: listingKinds, params: map[string]any{"marketingBudget": 10_000_001.0},
			wantField: "input.params.marketingBudget", wantText: "got 10000001",
		},
		{
			name: "non-numeric budget", kinds: listingKinds, params: map[string]any{"marketingBudget": "2500"},
			wantField: "input.params.marketingBudget", wantText: `must be a number from 0 to 10000000, got "2500"`,
		},
		{
			name: "bad date", kinds: listingKinds, params: map[string]any{"listingStartDate": "21/11/2026"},
			wantField: "input.params.listingStartDate", wantText: `must be a date (YYYY-MM-DD), got "21/11/2026"`,
		},
		{
			name: "empty date", kinds: listingKinds, params: map[string]any{"listingStartDate": ""},
			wantField: "input.params.listingStartDate", wantText: "must be a date",
		},
		{
			name: "date that is not a string", kinds: listingKinds, params: map[string]any{"listingStartDate": 20261121.0},
			wantField: "input.params.listingStartDate", wantText: "must be a date",
		},
		{
			name: "fractional comp count", kinds: listingKinds, params: map[string]any{"minComps": 3.5},
			wantField: "input.params.minComps", wantText: "must be a whole number of at least 0, got 3.5",
		},
		{
			name: "asOf without a time", kinds: listingKinds, params: map[string]any{"asOf": "2026-06-01"},
			wantField: "input.params.asOf", wantText: "RFC 3339",
		},
		{
			name: "undeclared key", kinds: listingKinds, params: map[string]any{"budget": 2500.0},
			wantField: "input.params.budget", wantText: "params.budget: no step of this package reads it; its steps read asOf, listingStartDate, marketingBudget, maxComps",
		},
		{
			name: "a parameter of a kind the package lacks", kinds: []string{string(stepkind.CMAAnalysis)}, params: map[string]any{"marketingBudget": 2500.0},
			wantField: "input.params.marketingBudget", wantText: "no step of this package reads it",
		},
		{
			name: "any key to a package that reads none", kinds: nurtureKinds, params: map[string]any{"marketingBudget": 2500.0},
			wantField: "input.params.marketingBudget", wantText: "params must be empty",
		},
		{
			// Keys are checked in order, so the answer is the same each time.
			name: "first bad key by name", kinds: listingKinds, params: map[string]any{"zzz": 1.0, "listingStartDate": "soon", "aaa": 1.0},
			wantField: "input.params.aaa", wantText: "params.aaa:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := modules.CheckParams(tt.kinds, tt.params)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("CheckParams = %v, want nil", err)
				}
				return
			}
			var ee *engine.Error
			if !errors.As(err, &ee) {
				t.Fatalf("CheckParams = %v (%T), want an *engine.Error", err, err)
			}
			if ee.Code != errcode.BadUserInput || ee.Field != tt.wantField || !strings.Contains(ee.Message, tt.wantText) {
				t.Fatalf("CheckParams = %+v, want BAD_USER_INPUT on %s with %q", ee, tt.wantField, tt.wantText)
			}
		})
	}
}

func TestCheckSubject(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, database.Options{})
	sys := tenant.SystemContext(context.Background())
	ours, err := db.Client.Organization.Create().SetName("Ours").SetSlug("ours").Save(sys)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := db.Client.Organization.Create().SetName("Theirs").SetSlug("theirs").Save(sys)
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: ours.ID})
	theirCtx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: theirs.ID})
	ourHome := db.Client.Property.Create().SetCity("Austin").SetLatitude(30.2).SetLongitude(-97.7).SaveX(ctx)
	theirHome := db.Client.Property.Create().SetCity("Austin").SetLatitude(30.2).SetLongitude(-97.7).SaveX(theirCtx)
	ourClient := db.Client.Contact.Create().SetName("Ana").SaveX(ctx)
	theirClient := db.Client.Contact.Create().SetName("Bo").SaveX(theirCtx)

	tests := []struct {
		name      string
		subject   engine.Subject
		wantField string // "" when the subject is found
	}{
		{"our property", engine.Subject{Type: engine.SubjectProperty, ID: ourHome.ID}, ""},
		{"our client", engine.Subject{Type: engine.SubjectClient, ID: ourClient.ID}, ""},
		{"unknown property", engine.Subject{Type: engine.SubjectProperty, ID: theirHome.ID + 1_000_000}, "input.propertyId"},
		{"another organization's property", engine.Subject{Type: engine.SubjectProperty, ID: theirHome.ID}, "input.propertyId"},
		{"unknown client", engine.Subject{Type: engine.SubjectClient, ID: theirClient.ID + 1_000_000}, "input.clientId"},
		{"another organization's client", engine.Subject{Type: engine.SubjectClient, ID: theirClient.ID}, "input.clientId"},
		{"a client's ID given as a property", engine.Subject{Type: engine.SubjectProperty, ID: ourClient.ID}, "input.propertyId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := modules.CheckSubject(ctx, db.Client, tt.subject)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("CheckSubject = %v, want nil", err)
				}
				return
			}
			var ee *engine.Error
			if !errors.As(err, &ee) || ee.Code != errcode.NotFound || ee.Field != tt.wantField ||
				!strings.HasSuffix(ee.Message, " not found") {
				t.Fatalf("CheckSubject = %#v, want NOT_FOUND on %s", err, tt.wantField)
			}
		})
	}
}

// TestStartChecker checks that the engine's check covers both the params
// and the subject.
func TestStartChecker(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, database.Options{})
	org, err := db.Client.Organization.Create().SetName("O").SetSlug("o").Save(tenant.SystemContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: org.ID})
	home := db.Client.Property.Create().SetCity("Austin").SetLatitude(30.2).SetLongitude(-97.7).SaveX(ctx)
	check := modules.StartChecker(db.Client)
	subject := engine.Subject{Type: engine.SubjectProperty, ID: home.ID}

	if err := check(ctx, engine.StartCheck{Subject: subject, Kinds: listingKinds, Params: map[string]any{"marketingBudget": 2500.0}}); err != nil {
		t.Fatalf("a valid run was refused: %v", err)
	}
	var ee *engine.Error
	err = check(ctx, engine.StartCheck{Subject: subject, Kinds: listingKinds, Params: map[string]any{"marketingBudget": -1.0}})
	if !errors.As(err, &ee) || ee.Field != "input.params.marketingBudget" {
		t.Fatalf("a negative budget gave %v, want BAD_USER_INPUT on input.params.marketingBudget", err)
	}
	err = check(ctx, engine.StartCheck{Subject: engine.Subject{Type: engine.SubjectProperty, ID: home.ID + 1_000_000}, Kinds: listingKinds})
	if !errors.As(err, &ee) || ee.Code != errcode.NotFound {
		t.Fatalf("an unknown property gave %v, want NOT_FOUND", err)
	}
}
