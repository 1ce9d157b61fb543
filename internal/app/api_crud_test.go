package app

import (
	"fmt"
	"testing"
)

const propertyFields = `id externalRef address city state zip latitude longitude propertyType beds baths sqft
	lotSqft yearBuilt garageSpaces features description status listPrice listDate salePrice saleDate`

func TestPropertyCRUD(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})

	var created struct {
		CreateProperty map[string]any `json:"createProperty"`
	}
	api.do(`mutation($in: CreatePropertyInput!) { createProperty(input: $in) { `+propertyFields+` } }`, map[string]any{
		"in": map[string]any{
			"externalRef": "mls-1", "address": "12 Oak St", "city": "Austin", "state": "TX", "zip": "78704",
			"latitude": 30.25, "longitude": -97.76, "propertyType": "TOWNHOUSE", "beds": 3, "baths": 2.5,
			"sqft": 1800, "lotSqft": 2400, "yearBuilt": 2004, "garageSpaces": 2,
			"features": []string{"pool", "solar panels"}, "description": "Bright corner unit.",
			"status": "ACTIVE", "listPrice": 615000, "listDate": "2026-10-01T00:00:00Z",
		},
	}).ok(t, &created)
	p := created.CreateProperty
	if p["baths"] != 2.5 || p["propertyType"] != "TOWNHOUSE" || p["listPrice"] != 615000.0 || len(p["features"].([]any)) != 2 {
		t.Fatalf("created property = %v", p)
	}
	id := p["id"].(string)

	var read struct {
		Node map[string]any `json:"node"`
	}
	api.do(`query($id: ID!) { node(id: $id) { __typename ... on Property { city zip listPrice } } }`, map[string]any{"id": id}).ok(t, &read)
	if read.Node["__typename"] != "Property" || read.Node["zip"] != "78704" {
		t.Fatalf("node = %v", read.Node)
	}

	var updated struct {
		UpdateProperty map[string]any `json:"updateProperty"`
	}
	api.do(`mutation($id: ID!) { updateProperty(id: $id, input: {status: SOLD, salePrice: 607500, saleDate: "2026-11-01T00:00:00Z", clearListDate: true}) { status salePrice listDate listPrice } }`,
		map[string]any{"id": id}).ok(t, &updated)
	u := updated.UpdateProperty
	if u["status"] != "SOLD" || u["salePrice"] != 607500.0 || u["listDate"] != nil || u["listPrice"] != 615000.0 {
		t.Fatalf("updated property = %v", u)
	}

	var deleted struct {
		DeleteProperty string `json:"deleteProperty"`
	}
	api.do(`mutation($id: ID!) { deleteProperty(id: $id) }`, map[string]any{"id": id}).ok(t, &deleted)
	if deleted.DeleteProperty != id {
		t.Fatalf("deleteProperty = %q, want %q", deleted.DeleteProperty, id)
	}
	api.do(`query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id}).wantError(t, "NOT_FOUND", "id")
	api.do(`mutation($id: ID!) { deleteProperty(id: $id) }`, map[string]any{"id": id}).wantError(t, "NOT_FOUND", "id")
}

func TestClientCRUD(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})

	var created struct {
		CreateClient struct {
			ID             string   `json:"id"`
			Stage          string   `json:"stage"`
			Source         string   `json:"source"`
			PreferredAreas []string `json:"preferredAreas"`
			MoveTimeline   int      `json:"moveTimeline"`
			EmailOptIn     bool     `json:"emailOptIn"`
		} `json:"createClient"`
	}
	api.do(`mutation { createClient(input: {name: "Ana Ruiz", email: "ana@example.com", phone: "+1 512 555 0101",
		stage: PROSPECT, source: OPEN_HOUSE, budgetMin: 400000, budgetMax: 550000, preApproved: true, desiredBeds: 3,
		preferredAreas: ["78704", "Austin"], moveTimeline: 3, emailOptIn: true, smsOptIn: false, notes: "Wants a yard."})
		{ id stage source preferredAreas moveTimeline emailOptIn } }`, nil).ok(t, &created)
	c := created.CreateClient
	if c.Stage != "PROSPECT" || c.Source != "OPEN_HOUSE" || len(c.PreferredAreas) != 2 || c.MoveTimeline != 3 || !c.EmailOptIn {
		t.Fatalf("created client = %+v", c)
	}

	api.do(`mutation($id: ID!) { createInteraction(input: {clientID: $id, type: SHOWING, note: "Liked the kitchen"}) { id type } }`,
		map[string]any{"id": c.ID}).ok(t, nil)

	var read struct {
		Node struct {
			Name         string `json:"name"`
			Interactions struct {
				TotalCount int `json:"totalCount"`
			} `json:"interactions"`
		} `json:"node"`
	}
	api.do(`query($id: ID!) { node(id: $id) { ... on Client { name interactions(first: 10) { totalCount } } } }`,
		map[string]any{"id": c.ID}).ok(t, &read)
	if read.Node.Name != "Ana Ruiz" || read.Node.Interactions.TotalCount != 1 {
		t.Fatalf("read client = %+v", read.Node)
	}

	var updated struct {
		UpdateClient struct {
			Stage string  `json:"stage"`
			Email *string `json:"email"`
		} `json:"updateClient"`
	}
	api.do(`mutation($id: ID!) { updateClient(id: $id, input: {stage: ACTIVE, clearEmail: true}) { stage email } }`,
		map[string]any{"id": c.ID}).ok(t, &updated)
	if updated.UpdateClient.Stage != "ACTIVE" || updated.UpdateClient.Email != nil {
		t.Fatalf("updated client = %+v", updated.UpdateClient)
	}

	api.do(`mutation($id: ID!) { deleteClient(id: $id) }`, map[string]any{"id": c.ID}).ok(t, nil)
	if n := api.count("interaction"); n != 0 {
		t.Fatalf("%d interactions left after deleting their client", n)
	}
	api.do(`query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": c.ID}).wantError(t, "NOT_FOUND", "id")
}

func TestDuplicateExternalRefIsConflict(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	create := `mutation { createProperty(input: {externalRef: "mls-7", city: "Austin", latitude: 30.2, longitude: -97.7}) { id } }`
	api.do(create, nil).ok(t, nil)
	api.do(create, nil).wantError(t, "CONFLICT", "externalRef")
	if n := api.count("property"); n != 1 {
		t.Fatalf("%d properties, want 1", n)
	}
}

func TestPropertiesWithinBoundingBox(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	for i, ll := range [][2]float64{{30.20, -97.80}, {30.25, -97.75}, {30.40, -97.70}, {29.90, -97.75}} {
		api.do(fmt.Sprintf(`mutation { createProperty(input: {address: "%d Elm", city: "Austin", latitude: %f, longitude: %f}) { id } }`, i, ll[0], ll[1]), nil).ok(t, nil)
	}
	var out struct {
		Properties struct {
			TotalCount int `json:"totalCount"`
			Edges      []struct {
				Node struct {
					Address string `json:"address"`
				} `json:"node"`
			} `json:"edges"`
		} `json:"properties"`
	}
	api.do(`{ properties(first: 10, within: {minLat: 30.1, minLng: -97.85, maxLat: 30.3, maxLng: -97.7}, orderBy: {field: ADDRESS}) { totalCount edges { node { address } } } }`, nil).ok(t, &out)
	if out.Properties.TotalCount != 2 || out.Properties.Edges[0].Node.Address != "0 Elm" || out.Properties.Edges[1].Node.Address != "1 Elm" {
		t.Fatalf("within box = %+v", out.Properties)
	}
	api.do(`{ properties(first: 10, within: {minLat: 30.3, minLng: -97.85, maxLat: 30.1, maxLng: -97.7}) { totalCount } }`, nil).
		wantError(t, "BAD_USER_INPUT", "within.minLat")
}
