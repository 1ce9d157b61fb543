package app

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// The fuzz targets below drive the input validation of every create and
// update mutation through the real HTTP handler. Whatever the input, the
// server must answer with JSON, refuse bad input with a coded error that
// leaks no internals, and store accepted text exactly as sent. CI runs each
// one with -fuzztime; plain `go test` runs their seed corpus.

// fuzzRefusalCodes are the codes a malformed input may earn. INTERNAL is
// not among them: it would mean the validation let something through that
// the database or a resolver then choked on.
var fuzzRefusalCodes = map[string]bool{
	"BAD_USER_INPUT": true,
	"NOT_FOUND":      true,
	"CONFLICT":       true,
}

// fuzzLeakMarkers are strings that only internals (SQL, drivers, Go
// runtime) put into messages.
var fuzzLeakMarkers = []string{"sql", "pq:", "goroutine", "constraint failed", "ent:"}

// fuzzMutation posts one operation and checks the invariants every answer
// must keep. It returns the decoded data of an accepted operation, or nil.
func fuzzMutation(t *testing.T, api *testAPI, query string, vars map[string]any) map[string]any {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Skip("input has no JSON form (NaN or ±Inf)")
	}
	resp := api.postWith(t, api.token, "application/json", body)
	if resp.status >= 500 {
		t.Fatalf("status %d for %s", resp.status, body)
	}
	for _, e := range resp.Errors {
		code, _ := e.Extensions["code"].(string)
		if !fuzzRefusalCodes[code] {
			t.Fatalf("error %q has code %q, want a refusal code; input %s", e.Message, code, body)
		}
		lower, sent := strings.ToLower(e.Message), strings.ToLower(string(body))
		for _, marker := range fuzzLeakMarkers {
			// Messages quote bad input back, so a marker counts only when
			// the input did not carry it.
			if strings.Contains(lower, marker) && !strings.Contains(sent, marker) {
				t.Fatalf("error %q leaks internals (%q); input %s", e.Message, marker, body)
			}
		}
	}
	if len(resp.Errors) > 0 {
		return nil
	}
	var data map[string]any
	if err := json.Unmarshal(resp.Data, &data); err != nil {
		t.Fatalf("data is not an object: %s", resp.Data)
	}
	return data
}

// requireStored fails unless each accepted string field reads back as sent.
func requireStored(t *testing.T, got map[string]any, want map[string]string) {
	t.Helper()
	for field, sent := range want {
		if sent = transported(t, sent); got[field] != sent {
			t.Fatalf("%s: stored %q, sent %q", field, got[field], sent)
		}
	}
}

// transported is the string the server receives for s: JSON carries only
// valid UTF-8, so encoding/json replaces each invalid byte with U+FFFD.
func transported(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func finite(xs ...float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

func FuzzCreateClient(f *testing.F) {
	f.Add("Dana Buyer", "dana@example.com", "+1 512 555 0100", "LEAD", int64(300000), int64(450000), int64(6), "78704", "prefers quiet streets")
	f.Add("", "not-an-email", "call me", "NOPE", int64(-1), int64(-5), int64(-3), "", "")
	f.Add("nul\x00byte", "a@b.co", "\x00", "ACTIVE", int64(math.MaxInt64), int64(0), int64(1<<40), "\x00", "\x00")
	f.Add("Nul\x00Name", "nul@example.com", "555 0100", "LEAD", int64(0), int64(0), int64(1), "Aus\x00tin", "n\x00otes")
	f.Add(strings.Repeat("x", 5000), "x@"+strings.Repeat("y", 300)+".com", "1", "CLOSED", int64(1), int64(1), int64(0), "Austin", "ok")
	api := newTestAPI(f, testOptions{})
	const query = `mutation($in: CreateClientInput!) { createClient(input: $in) { id name email phone notes preferredAreas } }`
	f.Fuzz(func(t *testing.T, name, email, phone, stage string, budgetMin, budgetMax, moveTimeline int64, area, notes string) {
		data := fuzzMutation(t, api, query, map[string]any{"in": map[string]any{
			"name": name, "email": email, "phone": phone, "stage": stage,
			"budgetMin": budgetMin, "budgetMax": budgetMax, "moveTimeline": moveTimeline,
			"preferredAreas": []string{area}, "notes": notes,
		}})
		if data == nil {
			return
		}
		created := data["createClient"].(map[string]any)
		requireStored(t, created, map[string]string{"name": name, "email": email, "phone": phone, "notes": notes})
		if areas, _ := created["preferredAreas"].([]any); len(areas) != 1 || areas[0] != transported(t, area) {
			t.Fatalf("preferredAreas: stored %v, sent [%q]", created["preferredAreas"], area)
		}
	})
}

func FuzzUpdateClient(f *testing.F) {
	f.Add("Dana Buyer", "dana@example.com", "+1 512 555 0100", int64(300000), int64(450000), int64(2), "note")
	f.Add("", "@", "", int64(-10), int64(5), int64(-1), "\x00")
	f.Add("x", "a@b.co", "555", int64(0), int64(0), int64(1<<50), strings.Repeat("n", 70000))
	api := newTestAPI(f, testOptions{})
	var seeded struct {
		CreateClient struct{ ID string } `json:"createClient"`
	}
	api.do(`mutation { createClient(input: {name: "Fuzz Target"}) { id } }`, nil).ok(f, &seeded)
	const query = `mutation($id: ID!, $in: UpdateClientInput!) { updateClient(id: $id, input: $in) { id name email phone notes } }`
	f.Fuzz(func(t *testing.T, name, email, phone string, budgetMin, budgetMax, moveTimeline int64, notes string) {
		data := fuzzMutation(t, api, query, map[string]any{"id": seeded.CreateClient.ID, "in": map[string]any{
			"name": name, "email": email, "phone": phone,
			"budgetMin": budgetMin, "budgetMax": budgetMax, "moveTimeline": moveTimeline, "notes": notes,
		}})
		if data != nil {
			requireStored(t, data["updateClient"].(map[string]any), map[string]string{"name": name, "email": email, "phone": phone, "notes": notes})
		}
	})
}

func FuzzCreateInteraction(f *testing.F) {
	f.Add("CALL", "2026-11-20T10:00:00Z", "asked about schools", "1")
	f.Add("SHOUT", "yesterday", "\x00", "999999")
	f.Add("SHOWING", "0001-01-01T00:00:00Z", "", "-1")
	f.Add("EMAIL", "9999-12-31T23:59:59Z", "ok", "abc")
	api := newTestAPI(f, testOptions{})
	var seeded struct {
		CreateClient struct{ ID string } `json:"createClient"`
	}
	api.do(`mutation { createClient(input: {name: "Fuzz Target"}) { id } }`, nil).ok(f, &seeded)
	const query = `mutation($in: CreateInteractionInput!) { createInteraction(input: $in) { id note } }`
	f.Fuzz(func(t *testing.T, kind, at, note, clientID string) {
		if clientID == "1" {
			clientID = seeded.CreateClient.ID // reach the stored path, not only NOT_FOUND
		}
		data := fuzzMutation(t, api, query, map[string]any{"in": map[string]any{
			"type": kind, "at": at, "note": note, "clientID": clientID,
		}})
		if data != nil {
			requireStored(t, data["createInteraction"].(map[string]any), map[string]string{"note": note})
		}
	})
}

func FuzzCreateProperty(f *testing.F) {
	f.Add("Austin", "78704", "1 Main St", 30.25, -97.75, 2.5, int64(3), int64(1800), int64(1995), int64(550000), "pool")
	f.Add("", "", "", 91.0, -181.0, -1.0, int64(-1), int64(0), int64(3000), int64(-5), "")
	f.Add("\x00", "\x00", "\x00", 0.0, 0.0, 0.5, int64(1<<40), int64(1<<62), int64(-1), int64(math.MaxInt64), "\x00")
	api := newTestAPI(f, testOptions{})
	const query = `mutation($in: CreatePropertyInput!) { createProperty(input: $in) { id city zip address features } }`
	f.Fuzz(func(t *testing.T, city, zip, address string, lat, lng, baths float64, beds, sqft, yearBuilt, listPrice int64, feature string) {
		if !finite(lat, lng, baths) {
			t.Skip("JSON has no NaN or ±Inf")
		}
		data := fuzzMutation(t, api, query, map[string]any{"in": map[string]any{
			"city": city, "zip": zip, "address": address, "latitude": lat, "longitude": lng, "baths": baths,
			"beds": beds, "sqft": sqft, "yearBuilt": yearBuilt, "listPrice": listPrice, "features": []string{feature},
		}})
		if data == nil {
			return
		}
		created := data["createProperty"].(map[string]any)
		requireStored(t, created, map[string]string{"city": city, "zip": zip, "address": address})
		if features, _ := created["features"].([]any); len(features) != 1 || features[0] != transported(t, feature) {
			t.Fatalf("features: stored %v, sent [%q]", created["features"], feature)
		}
	})
}

func FuzzUpdateProperty(f *testing.F) {
	f.Add("Austin", "78704", "SOLD", 30.25, -97.75, int64(550000), "2026-01-02T00:00:00Z")
	f.Add("", "\x00", "GONE", 1000.0, 0.0, int64(-1), "not a time")
	api := newTestAPI(f, testOptions{})
	var seeded struct {
		CreateProperty struct{ ID string } `json:"createProperty"`
	}
	api.do(`mutation { createProperty(input: {city: "Austin", latitude: 30.2, longitude: -97.7}) { id } }`, nil).ok(f, &seeded)
	const query = `mutation($id: ID!, $in: UpdatePropertyInput!) { updateProperty(id: $id, input: $in) { id city zip } }`
	f.Fuzz(func(t *testing.T, city, zip, status string, lat, lng float64, salePrice int64, saleDate string) {
		if !finite(lat, lng) {
			t.Skip("JSON has no NaN or ±Inf")
		}
		data := fuzzMutation(t, api, query, map[string]any{"id": seeded.CreateProperty.ID, "in": map[string]any{
			"city": city, "zip": zip, "status": status, "latitude": lat, "longitude": lng,
			"salePrice": salePrice, "saleDate": saleDate,
		}})
		if data != nil {
			requireStored(t, data["updateProperty"].(map[string]any), map[string]string{"city": city, "zip": zip})
		}
	})
}

func FuzzCreateTransaction(f *testing.F) {
	f.Add("BUYER", int64(500000), "2026-01-05T00:00:00Z", "2026-02-20T00:00:00Z", true, true)
	f.Add("SELLER", int64(-1), "2026-03-01T00:00:00Z", "2026-01-01T00:00:00Z", true, false)
	f.Add("DUAL", int64(0), "", "x", false, true)
	api := newTestAPI(f, testOptions{})
	var seeded struct {
		CreateClient   struct{ ID string } `json:"createClient"`
		CreateProperty struct{ ID string } `json:"createProperty"`
	}
	api.do(`mutation { createClient(input: {name: "Fuzz Target"}) { id } createProperty(input: {city: "Austin", latitude: 30.2, longitude: -97.7}) { id } }`, nil).ok(f, &seeded)
	const query = `mutation($in: CreateTransactionInput!) { createTransaction(input: $in) { id } }`
	f.Fuzz(func(t *testing.T, side string, price int64, offerDate, closingDate string, knownClient, knownProperty bool) {
		clientID, propertyID := "987654", "987654"
		if knownClient {
			clientID = seeded.CreateClient.ID
		}
		if knownProperty {
			propertyID = seeded.CreateProperty.ID
		}
		fuzzMutation(t, api, query, map[string]any{"in": map[string]any{
			"side": side, "price": price, "offerDate": offerDate, "closingDate": closingDate,
			"clientID": clientID, "propertyID": propertyID,
		}})
	})
}

func FuzzCreatePackage(f *testing.F) {
	f.Add("my-listing", "My listing", "cma", "CMA_ANALYSIS", "", int64(3), int64(60), `{"radiusKm": 2}`)
	f.Add("Bad Key!", "", "", "NOPE", "cma", int64(0), int64(0), `[]`)
	f.Add("loop", "Loop", "a", "LEAD_SCORING", "a", int64(26), int64(86401), `{}`)
	f.Add("x", "\x00", "\x00", "EMAIL_SEQUENCE", "\x00", int64(-1), int64(-1), `null`)
	api := newTestAPI(f, testOptions{})
	const query = `mutation($in: CreatePackageInput!) { createPackage(input: $in) { id key name } }`
	f.Fuzz(func(t *testing.T, key, name, stepKey, kind, dependsOn string, maxAttempts, timeoutSeconds int64, config string) {
		var configValue any
		if json.Unmarshal([]byte(config), &configValue) != nil {
			configValue = config // a non-object config is bad input too
		}
		step := map[string]any{"key": stepKey, "name": "step " + stepKey, "kind": kind,
			"maxAttempts": maxAttempts, "timeoutSeconds": timeoutSeconds, "config": configValue}
		if dependsOn != "" {
			step["dependsOn"] = []string{dependsOn}
		}
		data := fuzzMutation(t, api, query, map[string]any{"in": map[string]any{
			"key": key, "name": name, "subject": "PROPERTY", "steps": []any{step},
		}})
		if data != nil {
			requireStored(t, data["createPackage"].(map[string]any), map[string]string{"key": key, "name": name})
		}
	})
}

func FuzzUpdatePackage(f *testing.F) {
	f.Add("Renamed", "new description", "cma", "CMA_ANALYSIS", int64(2))
	f.Add("", "\x00", "", "SOCIAL_SCHEDULING", int64(100))
	api := newTestAPI(f, testOptions{})
	var seeded struct {
		CreatePackage struct{ ID string } `json:"createPackage"`
	}
	api.do(`mutation { createPackage(input: {key: "fuzz", name: "Fuzz", subject: PROPERTY, steps: [{key: "cma", name: "CMA", kind: CMA_ANALYSIS}]}) { id } }`, nil).ok(f, &seeded)
	const query = `mutation($id: ID!, $in: UpdatePackageInput!) { updatePackage(id: $id, input: $in) { id name description } }`
	f.Fuzz(func(t *testing.T, name, description, stepKey, kind string, maxAttempts int64) {
		data := fuzzMutation(t, api, query, map[string]any{"id": seeded.CreatePackage.ID, "in": map[string]any{
			"name": name, "description": description,
			"steps": []any{map[string]any{"key": stepKey, "name": "step", "kind": kind, "maxAttempts": maxAttempts}},
		}})
		if data != nil {
			requireStored(t, data["updatePackage"].(map[string]any), map[string]string{"name": name, "description": description})
		}
	})
}

func FuzzCreateAPIToken(f *testing.F) {
	f.Add("ci deploy", "2030-01-01T00:00:00Z")
	f.Add("", "2001-01-01T00:00:00Z")
	f.Add("\x00", "never")
	f.Add(strings.Repeat("t", 1000), "")
	api := newTestAPI(f, testOptions{})
	const query = `mutation($name: String!, $expiresAt: Time) { createApiToken(name: $name, expiresAt: $expiresAt) { secret token { name } } }`
	f.Fuzz(func(t *testing.T, name, expiresAt string) {
		vars := map[string]any{"name": name}
		if expiresAt != "" {
			vars["expiresAt"] = expiresAt
		}
		data := fuzzMutation(t, api, query, vars)
		if data == nil {
			return
		}
		created := data["createApiToken"].(map[string]any)
		requireStored(t, created["token"].(map[string]any), map[string]string{"name": name})
		secret, _ := created["secret"].(string)
		if got := api.postWith(t, secret, "application/json", []byte(`{"query":"{ viewer { role } }"}`)); len(got.Errors) > 0 {
			t.Fatalf("the new token does not authenticate: %+v", got.Errors)
		}
	})
}
