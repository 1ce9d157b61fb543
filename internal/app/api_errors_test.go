package app

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/estateflow/estateflow/tenant"
)

// TestBadInputIsCodedAndChangesNothing sends each kind of bad input and
// checks the error's code and field, and that no row changed.
func TestBadInputIsCodedAndChangesNothing(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	var created struct {
		CreateProperty struct {
			ID string `json:"id"`
		} `json:"createProperty"`
		CreateClient struct {
			ID string `json:"id"`
		} `json:"createClient"`
	}
	api.do(`mutation {
		createProperty(input: {city: "Austin", latitude: 30.2, longitude: -97.7, listPrice: 500000}) { id }
		createClient(input: {name: "Jo", email: "jo@example.com"}) { id } }`, nil).ok(t, &created)
	propertyID, clientID := created.CreateProperty.ID, created.CreateClient.ID

	snapshot := func() string {
		var out struct {
			Properties struct {
				Edges []struct{ Node map[string]any } `json:"edges"`
			} `json:"properties"`
			Clients struct {
				Edges []struct{ Node map[string]any } `json:"edges"`
			} `json:"clients"`
		}
		api.do(`{ properties(first: 10) { edges { node { id listPrice latitude updatedAt } } }
			clients(first: 10) { edges { node { id email updatedAt } } } }`, nil).ok(t, &out)
		return strings.Join([]string{strconv.Itoa(len(out.Properties.Edges)), strconv.Itoa(len(out.Clients.Edges)),
			toString(out.Properties.Edges), toString(out.Clients.Edges)}, "|")
	}
	before := snapshot()

	tests := []struct {
		name      string
		query     string
		vars      map[string]any
		wantCode  string
		wantField string
	}{
		{"unknown ID", `mutation { updateProperty(id: 17179869999, input: {listPrice: 1}) { id } }`, nil, "NOT_FOUND", "id"},
		{"ID of another type", `mutation($id: ID!) { updateProperty(id: $id, input: {listPrice: 1}) { id } }`, map[string]any{"id": clientID}, "NOT_FOUND", "id"},
		{"ID that is not a number", `mutation { updateProperty(id: "abc", input: {listPrice: 1}) { id } }`, nil, "BAD_USER_INPUT", "id"},
		{"ID that is not a number, as a variable", `mutation($id: ID!) { deleteClient(id: $id) }`, map[string]any{"id": "abc"}, "BAD_USER_INPUT", "id"},
		{"negative price", `mutation($id: ID!) { updateProperty(id: $id, input: {listPrice: -5}) { id } }`, map[string]any{"id": propertyID}, "BAD_USER_INPUT", "input.listPrice"},
		{"negative price on create", `mutation { createProperty(input: {city: "Austin", latitude: 30, longitude: -97, salePrice: -1}) { id } }`, nil, "BAD_USER_INPUT", "input.salePrice"},
		{"bad email", `mutation($id: ID!) { updateClient(id: $id, input: {email: "not-an-email"}) { id } }`, map[string]any{"id": clientID}, "BAD_USER_INPUT", "input.email"},
		{"latitude out of range", `mutation { createProperty(input: {city: "Austin", latitude: 91, longitude: -97}) { id } }`, nil, "BAD_USER_INPUT", "input.latitude"},
		{"unknown field in the query", `{ properties(first: 1) { edges { node { price } } } }`, nil, "BAD_USER_INPUT", "price"},
		{"unknown input field", `mutation($in: CreatePropertyInput!) { createProperty(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"city": "Austin", "latitude": 30, "longitude": -97, "colour": "red"}}, "BAD_USER_INPUT", "in.colour"},
		{"syntax error", `{ properties(first: 1) { `, nil, "BAD_USER_INPUT", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api.do(tt.query, tt.vars).wantError(t, tt.wantCode, tt.wantField)
			if after := snapshot(); after != before {
				t.Fatalf("data changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}

	t.Run("malformed JSON", func(t *testing.T) {
		resp := api.post("application/json", []byte(`{"query": "{ properties(first: 1) { totalCount } }"`))
		if resp.status != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", resp.status)
		}
		resp.wantError(t, "BAD_USER_INPUT", "")
	})
	t.Run("oversized body", func(t *testing.T) {
		big := `{"query": "mutation { createProperty(input: {city: \"Austin\", latitude: 30, longitude: -97, description: \"` +
			strings.Repeat("x", 70<<10) + `\"}) { id } }"}`
		resp := api.post("application/json", []byte(big))
		if resp.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", resp.status)
		}
		resp.wantError(t, "BAD_USER_INPUT", "")
		if after := snapshot(); after != before {
			t.Fatalf("data changed by a refused request")
		}
	})
}

func toString(v any) string {
	var b strings.Builder
	for _, e := range v.([]struct{ Node map[string]any }) {
		for _, k := range []string{"id", "listPrice", "latitude", "email", "updatedAt"} {
			if x, ok := e.Node[k]; ok {
				b.WriteString(k + "=" + anyString(x) + " ")
			}
		}
	}
	return b.String()
}

func anyString(x any) string {
	switch x := x.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return "null"
	default:
		return "?"
	}
}

// TestOtherOrganizationsAreInvisible checks that a record of another
// organization behaves exactly like one that does not exist.
func TestOtherOrganizationsAreInvisible(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	sys := tenant.SystemContext(context.Background())
	other, err := api.ent().Organization.Create().SetName("Rival Realty").SetSlug("rival").Save(sys)
	if err != nil {
		t.Fatal(err)
	}
	otherCtx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: other.ID, Role: tenant.RoleAdmin})
	hidden, err := api.ent().Property.Create().SetCity("Austin").SetLatitude(30.2).SetLongitude(-97.7).Save(otherCtx)
	if err != nil {
		t.Fatal(err)
	}
	if hidden.OrganizationID != other.ID {
		t.Fatalf("property stamped with org %d, want %d", hidden.OrganizationID, other.ID)
	}
	id := map[string]any{"id": hidden.ID}
	api.do(`query($id: ID!) { node(id: $id) { id } }`, id).wantError(t, "NOT_FOUND", "id")
	api.do(`mutation($id: ID!) { updateProperty(id: $id, input: {listPrice: 1}) { id } }`, id).wantError(t, "NOT_FOUND", "id")
	api.do(`mutation($id: ID!) { deleteProperty(id: $id) }`, id).wantError(t, "NOT_FOUND", "id")
	var list struct {
		Properties struct {
			TotalCount int `json:"totalCount"`
		} `json:"properties"`
	}
	api.do(`{ properties(first: 10) { totalCount } }`, nil).ok(t, &list)
	if list.Properties.TotalCount != 0 {
		t.Fatalf("another organization's property is listed")
	}
	if _, err := api.ent().Property.Get(otherCtx, hidden.ID); err != nil {
		t.Fatalf("the owner lost its property: %v", err)
	}
	if _, err := api.ent().Property.Query().Count(context.Background()); err == nil {
		t.Fatal("a query without a viewer was allowed")
	}
}
