package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// aliasedCMAs is one operation asking for n CMAs of one property.
func aliasedCMAs(n int) string {
	var b strings.Builder
	b.WriteString("query($id: ID!) {")
	for i := range n {
		fmt.Fprintf(&b, " a%d: cma(propertyId: $id) { valueLow }", i)
	}
	b.WriteString(" }")
	return b.String()
}

// TestCMACostAndPerOperationBound: the CMA weighs about a page of 100
// properties, so that aliases cannot multiply it under the complexity limit,
// and one operation may ask for at most 10 CMAs (configurable), refused
// before anything runs.
func TestCMACostAndPerOperationBound(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{demo: true})
	prop, _ := api.activeListingAndNewListing(t)
	vars := map[string]any{"id": prop}

	// The reproduction: 1,000 aliases took 8.3 s. Refused at once.
	began := time.Now()
	e := api.do(aliasedCMAs(1000), vars).wantError(t, "EXPENSIVE_FIELD_LIMIT_EXCEEDED", "a0")
	if !strings.Contains(e.Message, "1000") || !strings.Contains(e.Message, "10") {
		t.Errorf("message %q should give the count and the limit", e.Message)
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("refusing took %s: the CMAs ran", d)
	}
	api.do(aliasedCMAs(11), vars).wantError(t, "EXPENSIVE_FIELD_LIMIT_EXCEEDED", "a0")
	var ten map[string]struct{ ValueLow int }
	api.do(aliasedCMAs(10), vars).ok(t, &ten)
	if len(ten) != 10 {
		t.Fatalf("%d CMAs answered, want 10", len(ten))
	}

	// With the bound raised, the weight alone keeps 25 CMAs over 20,000.
	raised := serverWith(t, api, Config{MaxExpensive: 100, MaxComplexity: 20000, MaxDepth: 15})
	resp := sendTo(t, raised.URL, api.token, aliasedCMAs(25), vars)
	resp.wantError(t, "COMPLEXITY_LIMIT_EXCEEDED", "")

	// The bound is a setting.
	lowered := serverWith(t, api, Config{MaxExpensive: 2})
	sendTo(t, lowered.URL, api.token, aliasedCMAs(3), vars).wantError(t, "EXPENSIVE_FIELD_LIMIT_EXCEEDED", "a0")
	sendTo(t, lowered.URL, api.token, aliasedCMAs(2), vars).ok(t, nil)

	// Fragments count once per spread.
	spread := `query($id: ID!) { ...c ...c2 } fragment c on Query { ` + strings.TrimSuffix(strings.TrimPrefix(aliasedCMAs(6), "query($id: ID!) {"), " }") + ` }
		fragment c2 on Query { ` + strings.ReplaceAll(strings.TrimSuffix(strings.TrimPrefix(aliasedCMAs(6), "query($id: ID!) {"), " }"), " a", " b") + ` }`
	api.do(spread, vars).wantError(t, "EXPENSIVE_FIELD_LIMIT_EXCEEDED", "")
}

// sendTo posts a GraphQL operation to another server of the test API.
func sendTo(t *testing.T, baseURL, token, query string, vars map[string]any) gqlResponse {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	status, _, raw := send(t, http.MethodPost, baseURL+"/graphql", token, bytes.NewReader(body), map[string]string{"Content-Type": "application/json"})
	out := gqlResponse{status: status}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("response is not JSON (%d): %s", status, raw)
	}
	return out
}
