package app

import (
	"context"
	"testing"

	"github.com/estateflow/estateflow/auth"
	"github.com/estateflow/estateflow/ent/user"
)

// TestUpdateOrganizationProfile: an ADMIN edits their organization's
// profile; bad values are refused on their field; an AGENT is FORBIDDEN;
// another organization's ADMIN changes only their own.
func TestUpdateOrganizationProfile(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	const update = `mutation($in: UpdateOrganizationInput!) {
		updateOrganization(input: $in) { id name timezone brokerageName postalAddress website phone senderName senderEmail signature }
	}`
	profile := map[string]any{
		"brokerageName": "Hill Country Homes",
		"postalAddress": "100 Congress Ave, Suite 2000, Austin, TX 78701",
		"website":       "https://hillcountry.example.com",
		"phone":         "+1 512-555-0142",
		"senderName":    "Dana Lee",
		"senderEmail":   "dana@hillcountry.example.com",
		"signature":     "Dana Lee, REALTOR®",
		"timezone":      "America/Chicago",
	}
	var got struct {
		UpdateOrganization map[string]any `json:"updateOrganization"`
	}
	api.do(update, map[string]any{"in": profile}).ok(t, &got)
	for k, want := range profile {
		if got.UpdateOrganization[k] != want {
			t.Errorf("%s = %v, want %v", k, got.UpdateOrganization[k], want)
		}
	}

	for _, tc := range []struct {
		field string
		value any
	}{
		{"website", "not a url"},
		{"website", "ftp://files.example.com"},
		{"website", "https://example.com/?utm=1"},
		{"senderEmail", "Dana <dana@example.com>"},
		{"phone", "call me"},
		{"timezone", "Mars/Olympus_Mons"},
		{"postalAddress", "   "},
		{"name", " "},
	} {
		api.do(update, map[string]any{"in": map[string]any{tc.field: tc.value}}).wantError(t, "BAD_USER_INPUT", "input."+tc.field)
	}
	// The refused updates changed nothing.
	org, err := api.ent().Organization.Get(api.ctx(), api.orgID)
	if err != nil {
		t.Fatal(err)
	}
	if org.Website != profile["website"] || org.Timezone != "America/Chicago" {
		t.Fatalf("a refused update changed the profile: %+v", org)
	}
	// An empty string clears a profile field.
	api.do(update, map[string]any{"in": map[string]any{"phone": ""}}).ok(t, &got)
	if got.UpdateOrganization["phone"] != "" {
		t.Fatalf("phone not cleared: %v", got.UpdateOrganization["phone"])
	}

	agent, err := auth.EnsureUser(context.Background(), api.db.Client, "demo", "agent@test.example", user.RoleAGENT)
	if err != nil {
		t.Fatal(err)
	}
	agentToken, _, err := api.authn.Issue(api.ctx(), api.db.Client, agent.ID, "agent", nil)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"query": "mutation { updateOrganization(input: {website: \"https://agent.example.com\"}) { id } }"}`)
	api.postAs(agentToken, "application/json", body).wantError(t, "FORBIDDEN", "")

	rival, _ := rivalToken(t, api)
	api.postAs(rival, "application/json", body).ok(t, nil)
	if org, err = api.ent().Organization.Get(api.ctx(), api.orgID); err != nil {
		t.Fatal(err)
	}
	if org.Website != profile["website"] {
		t.Fatalf("another organization's admin changed this profile: website %q", org.Website)
	}
	if len(org.UnsubscribeKey) != 32 {
		t.Fatalf("organization has no 32-byte unsubscribe key (%d bytes)", len(org.UnsubscribeKey))
	}
}
