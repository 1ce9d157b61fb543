package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/ent/schema"
	"github.com/estateflow/estateflow/internal/clienterr"
)

// newTestProperty creates a property through the API and returns its ID.
func newTestProperty(t *testing.T, api *testAPI, input string) string {
	t.Helper()
	var out struct {
		CreateProperty struct{ ID string } `json:"createProperty"`
	}
	api.do(`mutation { createProperty(input: {`+input+`}) { id } }`, nil).ok(t, &out)
	return out.CreateProperty.ID
}

func newTestClient(t *testing.T, api *testAPI, input string) string {
	t.Helper()
	var out struct {
		CreateClient struct{ ID string } `json:"createClient"`
	}
	api.do(`mutation { createClient(input: {`+input+`}) { id } }`, nil).ok(t, &out)
	return out.CreateClient.ID
}

const createPropertyMutation = `mutation($in: CreatePropertyInput!) { createProperty(input: $in) { id } }`

// Issue 12, item 5: NaN and ±Infinity reach Float inputs as the strings
// gqlgen's decoder accepts ("NaN", "Infinity", "-Inf"). PostgreSQL stored
// them and then no list could return the row; SQLite turned NaN into NULL.
func TestFloatInputsRefuseNonFinite(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	for _, tt := range []struct {
		name, field string
		value       any
	}{
		{"NaN latitude", "latitude", "NaN"},
		{"Infinity longitude", "longitude", "Infinity"},
		{"-Inf latitude", "latitude", "-Inf"},
		{"NaN baths", "baths", "NaN"},
		{"+Inf baths", "baths", "+Inf"},
	} {
		t.Run("create: "+tt.name, func(t *testing.T) {
			in := map[string]any{"city": "Austin", "latitude": 30.2, "longitude": -97.7}
			in[tt.field] = tt.value
			api.do(createPropertyMutation, map[string]any{"in": in}).wantError(t, "BAD_USER_INPUT", "input."+tt.field)
		})
	}
	if n := api.count("property"); n != 0 {
		t.Fatalf("%d properties were created", n)
	}

	id := newTestProperty(t, api, `city: "Austin", latitude: 30.2, longitude: -97.7, baths: 2`)
	for _, value := range []string{"NaN", "Infinity", "-Infinity"} {
		api.do(`mutation($id: ID!, $b: Float) { updateProperty(id: $id, input: {baths: $b}) { baths } }`,
			map[string]any{"id": id, "b": value}).wantError(t, "BAD_USER_INPUT", "input.baths")
	}
	// Query arguments are Float inputs too.
	api.do(`query($id: ID!, $r: Float) { cma(propertyId: $id, options: {maxRadiusMiles: $r}) { valueLow } }`,
		map[string]any{"id": id, "r": "NaN"}).wantError(t, "BAD_USER_INPUT", "")

	var list struct {
		Properties struct {
			Edges []struct {
				Node struct {
					Latitude float64  `json:"latitude"`
					Baths    *float64 `json:"baths"`
				} `json:"node"`
			} `json:"edges"`
		} `json:"properties"`
	}
	api.do(`{ properties(first: 10) { edges { node { latitude baths } } } }`, nil).ok(t, &list)
	if len(list.Properties.Edges) != 1 || list.Properties.Edges[0].Node.Baths == nil || *list.Properties.Edges[0].Node.Baths != 2 {
		t.Fatalf("properties = %+v, want the one with 2 baths", list)
	}
}

// Issue 12, item 5, defence in depth: a write that bypasses the API's
// scalars (an importer, a module) is refused by ent as BAD_USER_INPUT.
func TestEntRefusesNonFiniteFloats(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	ctx := api.ctx()
	err := api.ent().Property.Create().SetCity("Austin").SetLatitude(30.2).SetLongitude(-97.7).SetBaths(nanValue()).Exec(ctx)
	ref, ok := clienterr.Classify(err)
	if !ok || ref.Code != "BAD_USER_INPUT" || ref.Field != "input.baths" {
		t.Fatalf("NaN baths: %v, classified as %+v", err, ref)
	}
}

func nanValue() float64 {
	var zero float64
	return zero / zero
}

// Issue 12, item 13: dates far outside any sale, listing, offer or contact
// are typos, refused on create and update.
func TestDatesOutsideTheSaneRangeAreRefused(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	for _, date := range []string{"0000-01-01T00:00:00Z", "1800-06-01T00:00:00Z", "1899-12-31T23:59:59Z", "2101-01-01T00:00:00Z", "2999-01-01T00:00:00Z"} {
		t.Run(date, func(t *testing.T) {
			for _, field := range []string{"saleDate", "listDate"} {
				in := map[string]any{"city": "Austin", "latitude": 30.2, "longitude": -97.7, field: date}
				api.do(createPropertyMutation, map[string]any{"in": in}).wantError(t, "BAD_USER_INPUT", "input."+field)
			}
		})
	}
	if n := api.count("property"); n != 0 {
		t.Fatalf("%d properties were created", n)
	}
	// The bounds themselves are fine.
	id := newTestProperty(t, api, `city: "Austin", latitude: 30.2, longitude: -97.7, saleDate: "1900-01-01T00:00:00Z", listDate: "2100-12-31T00:00:00Z"`)
	api.do(`mutation($id: ID!) { updateProperty(id: $id, input: {saleDate: "2999-01-01T00:00:00Z"}) { id } }`,
		map[string]any{"id": id}).wantError(t, "BAD_USER_INPUT", "input.saleDate")

	client := newTestClient(t, api, `name: "Dee"`)
	api.do(`mutation($id: ID!) { updateClient(id: $id, input: {lastContactedAt: "0000-01-01T00:00:00Z"}) { id } }`,
		map[string]any{"id": client}).wantError(t, "BAD_USER_INPUT", "input.lastContactedAt")
	api.do(`mutation { createApiToken(name: "ci", expiresAt: "2999-01-01T00:00:00Z") { token { id } } }`, nil).
		wantError(t, "BAD_USER_INPUT", "expiresAt")
	for _, field := range []string{"offerDate", "acceptanceDate", "inspectionDeadline", "closingDate"} {
		api.do(fmt.Sprintf(`mutation($c: ID!, $p: ID!) { createTransaction(input: {clientID: $c, propertyID: $p, side: BUYER, %s: "1800-01-01T00:00:00Z"}) { id } }`, field),
			map[string]any{"c": client, "p": id}).wantError(t, "BAD_USER_INPUT", "input."+field)
	}
}

// Issue 12, item 13: budgetMin above budgetMax is refused, on create and
// on an update that changes one bound (compared with the stored other).
func TestBudgetMinMustNotExceedBudgetMax(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	api.do(`mutation { createClient(input: {name: "Dee", budgetMin: 500000, budgetMax: 400000}) { id } }`, nil).
		wantError(t, "BAD_USER_INPUT", "input.budgetMax")
	if n := api.count("client"); n != 0 {
		t.Fatalf("%d clients were created", n)
	}
	id := newTestClient(t, api, `name: "Dee", budgetMin: 300000, budgetMax: 400000`)
	update := func(input string) gqlResponse {
		return api.do(`mutation($id: ID!) { updateClient(id: $id, input: {`+input+`}) { budgetMin budgetMax } }`, map[string]any{"id": id})
	}
	update(`budgetMax: 200000`).wantError(t, "BAD_USER_INPUT", "input.budgetMax")
	update(`budgetMin: 450000`).wantError(t, "BAD_USER_INPUT", "input.budgetMin")
	update(`budgetMin: 600000, budgetMax: 500000`).wantError(t, "BAD_USER_INPUT", "input.budgetMax")
	update(`budgetMin: 400000`).ok(t, nil) // equal bounds are a fixed budget
	update(`clearBudgetMax: true, budgetMin: 900000`).ok(t, nil)
	update(`budgetMax: 950000`).ok(t, nil)
	var got struct {
		UpdateClient struct{ BudgetMin, BudgetMax int } `json:"updateClient"`
	}
	update(`budgetMin: 900000`).ok(t, &got)
	if got.UpdateClient.BudgetMin != 900000 || got.UpdateClient.BudgetMax != 950000 {
		t.Fatalf("budget = %+v", got)
	}
	// A one-sided budget compares with nothing.
	newTestClient(t, api, `name: "Eve", budgetMin: 900000`)
}

// Issue 12, item 13: a transaction cannot close before its offer.
func TestClosingDateMustNotPrecedeOfferDate(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	client := newTestClient(t, api, `name: "Dee"`)
	property := newTestProperty(t, api, `city: "Austin", latitude: 30.2, longitude: -97.7`)
	create := func(dates string) gqlResponse {
		return api.do(`mutation($c: ID!, $p: ID!) { createTransaction(input: {clientID: $c, propertyID: $p, side: BUYER, `+dates+`}) { id } }`,
			map[string]any{"c": client, "p": property})
	}
	create(`offerDate: "2026-05-01T00:00:00Z", closingDate: "2026-04-30T00:00:00Z"`).wantError(t, "BAD_USER_INPUT", "input.closingDate")
	var created struct {
		CreateTransaction struct{ ID string } `json:"createTransaction"`
	}
	create(`offerDate: "2026-05-01T00:00:00Z", closingDate: "2026-05-01T00:00:00Z"`).ok(t, &created)

	// The GraphQL API has no update of a transaction's dates; ent compares
	// an update of one with the stored other.
	ctx := api.ctx()
	deal, err := api.ent().Deal.Query().Only(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = api.ent().Deal.UpdateOne(deal).SetClosingDate(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)).Exec(ctx)
	var fieldErr *schema.FieldError
	if !errors.As(err, &fieldErr) || fieldErr.Field != "closing_date" {
		t.Fatalf("closing before the stored offer: %v", err)
	}
	err = api.ent().Deal.UpdateOne(deal).SetOfferDate(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)).Exec(ctx)
	if !errors.As(err, &fieldErr) || fieldErr.Field != "offer_date" {
		t.Fatalf("offer after the stored closing: %v", err)
	}
	err = api.ent().Deal.Update().SetClosingDate(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)).Exec(ctx)
	if !errors.As(err, &fieldErr) {
		t.Fatalf("a bulk update of one bound: %v", err)
	}
	if err := api.ent().Deal.UpdateOne(deal).SetClosingDate(time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)).Exec(ctx); err != nil {
		t.Fatalf("a later closing: %v", err)
	}
}

// Issue 12, item 13: a name made only of white space is no name.
func TestBlankNamesAreRefused(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	api.do(`mutation { createClient(input: {name: "   "}) { id } }`, nil).wantError(t, "BAD_USER_INPUT", "input.name")
	api.do(`mutation { createClient(input: {name: "\t\u00a0\n"}) { id } }`, nil).wantError(t, "BAD_USER_INPUT", "input.name")
	api.do(`mutation { createProperty(input: {city: "  ", latitude: 30.2, longitude: -97.7}) { id } }`, nil).wantError(t, "BAD_USER_INPUT", "input.city")
	id := newTestClient(t, api, `name: "Dee"`)
	api.do(`mutation($id: ID!) { updateClient(id: $id, input: {name: " "}) { id } }`, map[string]any{"id": id}).wantError(t, "BAD_USER_INPUT", "input.name")
	api.do(`mutation { createApiToken(name: "  ") { token { id } } }`, nil).wantError(t, "BAD_USER_INPUT", "name")
	if n := api.count("client"); n != 1 {
		t.Fatalf("%d clients, want 1", n)
	}
}

// Issue 12, item 13: GraphQL's Int is 32-bit; gqlgen's decoder took any
// 64-bit value.
func TestIntInputsBeyond32BitsAreRefused(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	for _, value := range []any{int64(1) << 31, int64(3_000_000_000), -(int64(1) << 40), "4294967296"} {
		in := map[string]any{"city": "Austin", "latitude": 30.2, "longitude": -97.7, "listPrice": value}
		api.do(createPropertyMutation, map[string]any{"in": in}).wantError(t, "BAD_USER_INPUT", "input.listPrice")
	}
	api.do(`mutation { createProperty(input: {city: "Austin", latitude: 30.2, longitude: -97.7, sqft: 2147483648}) { id } }`, nil).
		wantError(t, "BAD_USER_INPUT", "")
	api.do(`query($n: Int) { properties(first: $n) { totalCount } }`, map[string]any{"n": int64(1) << 32}).wantError(t, "BAD_USER_INPUT", "")
	if n := api.count("property"); n != 0 {
		t.Fatalf("%d properties were created", n)
	}
	// The largest Int is a valid price, and pagination still works.
	newTestProperty(t, api, `city: "Austin", latitude: 30.2, longitude: -97.7, listPrice: 2147483647`)
	newTestProperty(t, api, `city: "Austin", latitude: 30.3, longitude: -97.7, listPrice: 500000`)
	var page struct {
		Properties struct {
			TotalCount int `json:"totalCount"`
			Edges      []struct {
				Node struct {
					ListPrice int `json:"listPrice"`
				} `json:"node"`
			} `json:"edges"`
			PageInfo struct {
				HasNextPage bool `json:"hasNextPage"`
			} `json:"pageInfo"`
		} `json:"properties"`
	}
	api.do(`query($n: Int) { properties(first: $n, orderBy: {field: LIST_PRICE, direction: DESC}) { totalCount edges { node { listPrice } } pageInfo { hasNextPage } } }`,
		map[string]any{"n": 1}).ok(t, &page)
	if page.Properties.TotalCount != 2 || len(page.Properties.Edges) != 1 || page.Properties.Edges[0].Node.ListPrice != 2147483647 || !page.Properties.PageInfo.HasNextPage {
		t.Fatalf("page = %+v", page)
	}
}

// Issue 12, item 13: invalid UTF-8 and lone surrogate escapes were turned
// into U+FFFD by the JSON and GraphQL decoders and stored.
func TestMalformedTextIsRefused(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	create := `mutation($in: CreateClientInput!) { createClient(input: $in) { id name } }`
	for _, tt := range []struct {
		name, body, field string
	}{
		{"lone high surrogate in a variable", `{"query":"` + create + `","variables":{"in":{"name":"Ana \ud800"}}}`, "in.name"},
		{"lone low surrogate in a list", `{"query":"` + create + `","variables":{"in":{"name":"Ana","preferredAreas":["78704","\udc00"]}}}`, "in.preferredAreas[1]"},
		{"invalid bytes in a variable", `{"query":"` + create + `","variables":{"in":{"name":"Ana ` + "\xff\xfe" + `"}}}`, "in.name"},
		{"lone surrogate in the document", `{"query":"mutation { createClient(input: {name: \"Ana \\ud800\"}) { id } }"}`, "query"},
		{"invalid bytes in the document", `{"query":"mutation { createClient(input: {name: \"Ana ` + "\xc3" + `\"}) { id } }"}`, "query"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := api.post("application/json", []byte(tt.body))
			if r.status != http.StatusBadRequest {
				t.Errorf("status %d, want 400", r.status)
			}
			r.wantError(t, "BAD_USER_INPUT", tt.field)
		})
	}
	if n := api.count("client"); n != 0 {
		t.Fatalf("%d clients were created", n)
	}
	// A surrogate pair is one character, and an escaped U+FFFD is what it says.
	var got struct {
		CreateClient struct{ Name string } `json:"createClient"`
	}
	api.post("application/json", []byte(`{"query":"`+create+`","variables":{"in":{"name":"Ana \ud83d\ude00 \ufffd"}}}`)).ok(t, &got)
	if got.CreateClient.Name != "Ana 😀 \ufffd" {
		t.Fatalf("name = %q", got.CreateClient.Name)
	}

	// GET carries the document and variables in the URL.
	status, _, raw := send(t, http.MethodGet, api.srv.URL+`/graphql?query=%7B+viewer+%7B+role+%7D+%7D&variables=%7B%22x%22%3A%22%5Cud800%22%7D`, api.token, nil, nil)
	if status != http.StatusBadRequest {
		t.Errorf("GET: status %d: %s", status, raw)
	}

	// REST reads JSON bodies the same way.
	api.rest(t, http.MethodPost, restRuns, `{"packageId":"1","idempotencyKey":"k\ud800"}`).
		wantError(t, http.StatusBadRequest, "BAD_USER_INPUT", "idempotencyKey")
	api.rest(t, http.MethodPost, restRuns, `{"packageId":"1","params":{"note":"`+"\xff"+`"}}`).
		wantError(t, http.StatusBadRequest, "BAD_USER_INPUT", "params.note")
}

// Issue 12, item 5: REST takes numbers only in a run's params, whose
// checks refuse non-finite values in every form JSON can carry them; and
// GraphQL's startRun, whose params are a Map, the same.
func TestRunParamsRefuseNonFiniteNumbers(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	property := newTestProperty(t, api, `city: "Austin", latitude: 30.2, longitude: -97.7`)
	var setup struct {
		Packages struct {
			Edges []struct{ Node struct{ ID, Key string } } `json:"edges"`
		} `json:"packages"`
	}
	api.do(`{ packages(first: 10) { edges { node { id key } } } }`, nil).ok(t, &setup)
	var listing string
	for _, e := range setup.Packages.Edges {
		if e.Node.Key == "new-listing" {
			listing = e.Node.ID
		}
	}
	for _, value := range []string{`"NaN"`, `"Infinity"`, `1e999`} {
		body := `{"packageId":"` + listing + `","propertyId":"` + property + `","params":{"maxRadiusMiles":` + value + `}}`
		r := api.rest(t, http.MethodPost, restRuns, body)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.raw), "BAD_USER_INPUT") {
			t.Errorf("maxRadiusMiles %s: %d %s", value, r.status, r.raw)
		}
		api.do(`mutation($p: ID!, $prop: ID!, $params: Map) { startRun(input: {packageId: $p, propertyId: $prop, params: $params}) { id } }`,
			map[string]any{"p": listing, "prop": property, "params": map[string]any{"maxRadiusMiles": json.RawMessage(value)}}).
			wantError(t, "BAD_USER_INPUT", "")
	}
}
