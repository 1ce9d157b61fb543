package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent/schema/stepkind"
)

const restRuns = "/api/v1/orchestration/runs"

// restResponse is a REST call's answer, kept raw so that tests can compare
// bodies byte for byte.
type restResponse struct {
	status int
	header http.Header
	raw    []byte
}

// restErrorBody is the REST error shape.
type restErrorBody struct {
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

type restStep struct {
	ID         string          `json:"id"`
	Key        string          `json:"key"`
	Kind       string          `json:"kind"`
	Status     string          `json:"status"`
	Attempt    int             `json:"attempt"`
	Progress   float64         `json:"progress"`
	Error      *string         `json:"error"`
	Output     json.RawMessage `json:"output"`
	CreatedAt  time.Time       `json:"createdAt"`
	StartedAt  *time.Time      `json:"startedAt"`
	FinishedAt *time.Time      `json:"finishedAt"`
}

type restRun struct {
	ID             string         `json:"id"`
	PackageID      string         `json:"packageId"`
	PackageVersion int            `json:"packageVersion"`
	PropertyID     *string        `json:"propertyId"`
	ClientID       *string        `json:"clientId"`
	Params         map[string]any `json:"params"`
	Status         string         `json:"status"`
	Progress       float64        `json:"progress"`
	IdempotencyKey *string        `json:"idempotencyKey"`
	Error          *string        `json:"error"`
	CreatedAt      time.Time      `json:"createdAt"`
	FinishedAt     *time.Time     `json:"finishedAt"`
	Steps          []restStep     `json:"steps"`
}

type restPage struct {
	Runs       []restRun `json:"runs"`
	NextCursor *string   `json:"nextCursor"`
}

// rest calls the REST API on srvURL with a token ("" for none). body is sent
// as is: a string, or nil for none.
func restCall(t *testing.T, srvURL, token, method, path string, body any, header map[string]string) restResponse {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	headers := map[string]string{}
	if r != nil {
		headers["Content-Type"] = "application/json"
	}
	for k, v := range header {
		headers[k] = v
	}
	status, respHeader, raw := send(t, method, srvURL+path, token, r, headers)
	// Every REST response the tests see is one the OpenAPI document allows.
	checkOpenAPI(t, method, srvURL+path, headers, status, respHeader, raw)
	return restResponse{status: status, header: respHeader, raw: raw}
}

func (a *testAPI) rest(t *testing.T, method, path string, body any) restResponse {
	t.Helper()
	return restCall(t, a.srv.URL, a.token, method, path, body, nil)
}

// ok fails unless the status is want, then decodes the body into v.
func (r restResponse) ok(t *testing.T, want int, v any) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d: %s", r.status, want, r.raw)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
	if v != nil {
		if err := json.Unmarshal(r.raw, v); err != nil {
			t.Fatalf("decoding %s: %v", r.raw, err)
		}
	}
}

// wantError fails unless the response is the REST error shape with the
// status, code and (when not empty) field, and leaks nothing internal.
func (r restResponse) wantError(t *testing.T, status int, code, field string) string {
	t.Helper()
	var body restErrorBody
	if err := json.Unmarshal(r.raw, &body); err != nil || body.Error == nil {
		t.Fatalf("status %d, body is not a REST error: %s", r.status, r.raw)
	}
	if r.status != status || body.Error.Code != code || (field != "" && body.Error.Field != field) {
		t.Fatalf("got %d %s, want %d %s (field %q)", r.status, r.raw, status, code, field)
	}
	if body.Error.Message == "" {
		t.Fatalf("error without a message: %s", r.raw)
	}
	for _, leak := range []string{"SELECT", "INSERT", "UPDATE ", "pq:", "sqlite", "goroutine", ".go:", `"errors"`} {
		if strings.Contains(string(r.raw), leak) {
			t.Fatalf("error leaks internals (%q): %s", leak, r.raw)
		}
	}
	return body.Error.Message
}

// restFixture is a test API whose new-listing steps succeed at once, or
// fail the CMA for good when the run's params say {"fail": true}.
type restFixture struct {
	*testAPI
	listingID  string // the new-listing package
	nurtureID  string // the lead-nurture package
	propertyID string
	clientID   string
}

func newRESTFixture(t *testing.T) *restFixture {
	t.Helper()
	done := engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		return map[string]any{"ok": true, "step": sc.StepKey}, nil
	})
	cma := engine.ExecutorFunc(func(ctx context.Context, sc *engine.StepContext) (any, error) {
		if sc.Params["fail"] == true {
			return nil, engine.Permanent(errors.New("no comparable sales"))
		}
		return map[string]any{"ok": true, "step": sc.StepKey}, nil
	})
	api := newTestAPI(t, testOptions{executors: executorsOf(map[stepkind.Kind]engine.Executor{
		stepkind.CMAAnalysis: cma, stepkind.ListingStrategy: done, stepkind.MarketingCampaign: done, stepkind.SocialScheduling: done,
	})})
	f := &restFixture{testAPI: api}
	var setup struct {
		CreateProperty struct{ ID string } `json:"createProperty"`
		CreateClient   struct{ ID string } `json:"createClient"`
		Packages       struct {
			Edges []struct{ Node struct{ ID, Key string } } `json:"edges"`
		} `json:"packages"`
	}
	api.do(`mutation { createProperty(input: {city: "Austin", latitude: 30.2, longitude: -97.7}) { id } createClient(input: {name: "Bo"}) { id } }`, nil).ok(t, &setup)
	api.do(`{ packages(first: 10) { edges { node { id key } } } }`, nil).ok(t, &setup)
	f.propertyID, f.clientID = setup.CreateProperty.ID, setup.CreateClient.ID
	for _, e := range setup.Packages.Edges {
		switch e.Node.Key {
		case "new-listing":
			f.listingID = e.Node.ID
		case "lead-nurture":
			f.nurtureID = e.Node.ID
		}
	}
	if f.listingID == "" || f.nurtureID == "" {
		t.Fatalf("packages: %+v", setup.Packages)
	}
	return f
}

// start starts a new-listing run through REST.
func (f *restFixture) start(t *testing.T, params map[string]any) restRun {
	t.Helper()
	var out restRun
	f.rest(t, http.MethodPost, restRuns, map[string]any{"packageId": f.listingID, "propertyId": f.propertyID, "params": params}).
		ok(t, http.StatusCreated, &out)
	return out
}

// finished waits until the run has ended, then reads it through GET /runs/{id}.
func (f *restFixture) finished(t *testing.T, id string) restRun {
	t.Helper()
	f.waitRun(t, mustInt(t, id))
	var out restRun
	f.rest(t, http.MethodGet, restRuns+"/"+id, nil).ok(t, http.StatusOK, &out)
	return out
}

func TestRESTStartRun(t *testing.T) {
	t.Parallel()
	f := newRESTFixture(t)
	rivalTok, _ := rivalToken(t, f.testAPI)
	var rivalProp struct {
		CreateProperty struct{ ID string } `json:"createProperty"`
	}
	body, _ := json.Marshal(map[string]any{"query": `mutation { createProperty(input: {city: "Austin", latitude: 30.3, longitude: -97.7}) { id } }`})
	f.postAs(rivalTok, "application/json", body).ok(t, &rivalProp)

	// The first start with a key creates the run; the same start again, by
	// body or header, returns it.
	keyed := map[string]any{"packageId": f.listingID, "propertyId": f.propertyID, "params": map[string]any{"budget": 2500}, "idempotencyKey": "rest-1"}
	first := f.rest(t, http.MethodPost, restRuns, keyed)
	var created restRun
	first.ok(t, http.StatusCreated, &created)
	if created.ID == "" || created.PackageID != f.listingID || created.PropertyID == nil || *created.PropertyID != f.propertyID ||
		created.ClientID != nil || created.PackageVersion != 1 || created.IdempotencyKey == nil || *created.IdempotencyKey != "rest-1" ||
		len(created.Steps) != 4 || created.Steps[0].Key != "cma" || created.CreatedAt.IsZero() {
		t.Fatalf("created run: %s", first.raw)
	}
	if loc := first.header.Get("Location"); loc != restRuns+"/"+created.ID {
		t.Fatalf("Location %q", loc)
	}
	if first.header.Get("X-Request-ID") == "" {
		t.Fatal("no X-Request-ID")
	}
	withoutKey := map[string]any{"packageId": f.listingID, "propertyId": f.propertyID, "params": map[string]any{"budget": 2500}}

	tests := []struct {
		name   string
		body   any
		header map[string]string
		status int
		code   string // empty for success
		field  string
		sameID bool // the answer is the keyed run
	}{
		{name: "same key in the body", body: keyed, status: http.StatusOK, sameID: true},
		{name: "same key in the header", body: withoutKey, header: map[string]string{"Idempotency-Key": "rest-1"}, status: http.StatusOK, sameID: true},
		{name: "same key in both", body: keyed, header: map[string]string{"Idempotency-Key": "rest-1"}, status: http.StatusOK, sameID: true},
		{name: "same key, other params", body: map[string]any{"packageId": f.listingID, "propertyId": f.propertyID, "params": map[string]any{"budget": 9}, "idempotencyKey": "rest-1"},
			status: http.StatusConflict, code: "CONFLICT", field: "idempotencyKey"},
		{name: "same key by header, other params", body: map[string]any{"packageId": f.listingID, "propertyId": f.propertyID},
			header: map[string]string{"Idempotency-Key": "rest-1"}, status: http.StatusConflict, code: "CONFLICT", field: "idempotencyKey"},
		{name: "header and body keys differ", body: keyed, header: map[string]string{"Idempotency-Key": "rest-2"}, status: http.StatusBadRequest, code: "BAD_USER_INPUT", field: "idempotencyKey"},
		{name: "empty key", body: map[string]any{"packageId": f.listingID, "propertyId": f.propertyID, "idempotencyKey": ""}, status: http.StatusBadRequest, code: "BAD_USER_INPUT", field: "idempotencyKey"},
		{name: "new run without a key", body: withoutKey, status: http.StatusCreated},
		{name: "numeric IDs are accepted", body: `{"packageId": ` + f.listingID + `, "propertyId": ` + f.propertyID + `}`, status: http.StatusCreated},
		{name: "missing packageId", body: map[string]any{"propertyId": f.propertyID}, status: http.StatusBadRequest, code: "BAD_USER_INPUT", field: "packageId"},
		{name: "packageId not an ID", body: map[string]any{"packageId": "listing", "propertyId": f.propertyID}, status: http.StatusBadRequest, code: "BAD_USER_INPUT", field: "packageId"},
		{name: "propertyId not an ID", body: map[string]any{"packageId": f.listingID, "propertyId": "-3"}, status: http.StatusBadRequest, code: "BAD_USER_INPUT", field: "propertyId"},
		{name: "clientId of the wrong type", body: map[string]any{"packageId": f.nurtureID, "clientId": true}, status: http.StatusBadRequest, code: "BAD_USER_INPUT", field: "clientId"},
		{name: "unknown field", body: map[string]any{"packageId": f.listingID, "propertyId": f.propertyID, "budget": 1}, status: http.StatusBadRequest, code: "BAD_USER_INPUT", field: "budget"},
		{name: "params not an object", body: map[string]any{"packageId": f.listingID, "propertyId": f.propertyID, "params": "x"}, status: http.StatusBadRequest, code: "BAD_USER_INPUT", field: "params"},
		{name: "idempotencyKey not a string", body: map[string]any{"packageId": f.listingID, "propertyId": f.propertyID, "idempotencyKey": 7}, status: http.StatusBadRequest, code: "BAD_USER_INPUT", field: "idempotencyKey"},
		{name: "malformed JSON", body: `{"packageId": `, status: http.StatusBadRequest, code: "BAD_USER_INPUT"},
		{name: "not an object", body: `[1]`, status: http.StatusBadRequest, code: "BAD_USER_INPUT"},
		{name: "two objects", body: `{"packageId": "1"} {}`, status: http.StatusBadRequest, code: "BAD_USER_INPUT"},
		{name: "empty body", body: nil, status: http.StatusBadRequest, code: "BAD_USER_INPUT"},
		{name: "body over the limit", body: map[string]any{"packageId": f.listingID, "params": map[string]any{"x": strings.Repeat("a", 70<<10)}}, status: http.StatusRequestEntityTooLarge, code: "BAD_USER_INPUT"},
		{name: "property package without a property", body: map[string]any{"packageId": f.listingID, "clientId": f.clientID}, status: http.StatusBadRequest, code: "BAD_USER_INPUT", field: "propertyId"},
		{name: "client package without a client", body: map[string]any{"packageId": f.nurtureID}, status: http.StatusBadRequest, code: "BAD_USER_INPUT", field: "clientId"},
		{name: "unknown package", body: map[string]any{"packageId": "38654709999", "propertyId": f.propertyID}, status: http.StatusNotFound, code: "NOT_FOUND", field: "packageId"},
		{name: "unknown property", body: map[string]any{"packageId": f.listingID, "propertyId": "17179899999"}, status: http.StatusNotFound, code: "NOT_FOUND", field: "propertyId"},
		{name: "another organization's property", body: map[string]any{"packageId": f.listingID, "propertyId": rivalProp.CreateProperty.ID}, status: http.StatusNotFound, code: "NOT_FOUND", field: "propertyId"},
		{name: "NUL in params", body: map[string]any{"packageId": f.listingID, "propertyId": f.propertyID, "params": map[string]any{"note": "a\x00b"}}, status: http.StatusBadRequest, code: "BAD_USER_INPUT", field: "params"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := restCall(t, f.srv.URL, f.token, http.MethodPost, restRuns, tc.body, tc.header)
			if tc.code != "" {
				resp.wantError(t, tc.status, tc.code, tc.field)
				return
			}
			var got restRun
			resp.ok(t, tc.status, &got)
			if tc.sameID != (got.ID == created.ID) {
				t.Fatalf("run %s, keyed run %s (want same: %v)", got.ID, created.ID, tc.sameID)
			}
		})
	}
	// Every refusal left nothing behind: the keyed run and the two unkeyed.
	n, err := f.ent().Run.Query().Count(f.ctx())
	if err != nil || n != 3 {
		t.Fatalf("%d runs (%v), want 3", n, err)
	}
}

func TestRESTListRuns(t *testing.T) {
	t.Parallel()
	f := newRESTFixture(t)
	var ids, failed, succeeded []string
	for i := range 7 {
		params := map[string]any{"n": i}
		if i%3 == 0 {
			params["fail"] = true
		}
		ids = append(ids, f.start(t, params).ID)
	}
	for i, id := range ids {
		switch r := f.finished(t, id); {
		case i%3 == 0 && r.Status == "FAILED":
			failed = append(failed, id)
		case i%3 != 0 && r.Status == "SUCCEEDED":
			succeeded = append(succeeded, id)
		default:
			t.Fatalf("run %d ended %s", i, r.Status)
		}
	}
	// A rival's run is never listed.
	rivalTok, _ := rivalToken(t, f.testAPI)
	var rivalSetup struct {
		CreateProperty struct{ ID string } `json:"createProperty"`
		CreatePackage  struct{ ID string } `json:"createPackage"`
	}
	body, _ := json.Marshal(map[string]any{"query": `mutation {
		createProperty(input: {city: "Austin", latitude: 30.3, longitude: -97.7}) { id }
		createPackage(input: {key: "r", name: "R", subject: PROPERTY, steps: [{key: "cma", name: "CMA", kind: CMA_ANALYSIS}]}) { id } }`})
	f.postAs(rivalTok, "application/json", body).ok(t, &rivalSetup)
	var rivalRun restRun
	restCall(t, f.srv.URL, rivalTok, http.MethodPost, restRuns, map[string]any{"packageId": rivalSetup.CreatePackage.ID, "propertyId": rivalSetup.CreateProperty.ID}, nil).
		ok(t, http.StatusCreated, &rivalRun)

	newestFirst := slices.Clone(ids)
	slices.Reverse(newestFirst)
	// Walks the pages of a listing and returns the IDs in order.
	walk := func(t *testing.T, query string, limit int) []string {
		t.Helper()
		var got []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatal("pagination does not end")
			}
			path := restRuns + "?limit=" + strconv.Itoa(limit) + query
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			var page restPage
			f.rest(t, http.MethodGet, path, nil).ok(t, http.StatusOK, &page)
			if len(page.Runs) > limit {
				t.Fatalf("page of %d runs, limit %d", len(page.Runs), limit)
			}
			for _, r := range page.Runs {
				if r.Steps != nil {
					t.Fatalf("a listed run carries its steps: %+v", r)
				}
				got = append(got, r.ID)
			}
			if page.NextCursor == nil {
				return got
			}
			if len(page.Runs) != limit {
				t.Fatalf("a short page (%d) with a next cursor", len(page.Runs))
			}
			cursor = *page.NextCursor
		}
	}
	for _, tc := range []struct {
		name  string
		query string
		limit int
		want  []string
	}{
		{"pages of 3", "", 3, newestFirst},
		{"one page", "", 100, newestFirst},
		{"pages of 1", "", 1, newestFirst},
		{"exact multiple", "", 7, newestFirst},
		{"failed", "&status=FAILED", 2, reversed(failed)},
		{"succeeded", "&status=SUCCEEDED", 3, reversed(succeeded)},
		{"both, comma-separated", "&status=FAILED,SUCCEEDED", 4, newestFirst},
		{"both, repeated", "&status=FAILED&status=SUCCEEDED", 4, newestFirst},
		{"none running", "&status=RUNNING", 5, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := walk(t, tc.query, tc.limit); !slices.Equal(got, tc.want) {
				t.Fatalf("listed %v, want %v", got, tc.want)
			}
		})
	}

	// The default page size is 20.
	for range 14 {
		f.start(t, nil)
	}
	var page restPage
	f.rest(t, http.MethodGet, restRuns, nil).ok(t, http.StatusOK, &page)
	if len(page.Runs) != 20 || page.NextCursor == nil {
		t.Fatalf("default page: %d runs, next %v", len(page.Runs), page.NextCursor)
	}
	f.rest(t, http.MethodGet, restRuns+"?cursor="+*page.NextCursor, nil).ok(t, http.StatusOK, &page)
	if len(page.Runs) != 1 || page.NextCursor != nil || page.Runs[0].ID != ids[0] {
		t.Fatalf("second page: %+v", page)
	}

	for _, tc := range []struct{ query, field string }{
		{"limit=0", "limit"},
		{"limit=101", "limit"},
		{"limit=ten", "limit"},
		{"status=running", "status"},
		{"status=DONE", "status"},
		{"cursor=nonsense", "cursor"},
		{"cursor=aGVsbG8", "cursor"}, // well-formed base64, not a cursor
	} {
		t.Run(tc.query, func(t *testing.T) {
			f.rest(t, http.MethodGet, restRuns+"?"+tc.query, nil).wantError(t, http.StatusBadRequest, "BAD_USER_INPUT", tc.field)
		})
	}
}

func reversed(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

func TestRESTGetRun(t *testing.T) {
	t.Parallel()
	f := newRESTFixture(t)
	ok := f.start(t, map[string]any{"budget": 2500})
	bad := f.start(t, map[string]any{"fail": true})

	got := f.finished(t, ok.ID)
	if got.Status != "SUCCEEDED" || got.Progress != 1 || got.FinishedAt == nil || got.Params["budget"] != float64(2500) || len(got.Steps) != 4 {
		t.Fatalf("run: %+v", got)
	}
	wantKeys := []string{"cma", "strategy", "campaign", "social"}
	for i, s := range got.Steps {
		if s.Key != wantKeys[i] {
			t.Fatalf("step %d is %s, want %s (position order)", i, s.Key, wantKeys[i])
		}
		var out map[string]any
		if err := json.Unmarshal(s.Output, &out); err != nil || out["ok"] != true || out["step"] != s.Key {
			t.Fatalf("step %s output %s (%v)", s.Key, s.Output, err)
		}
		if s.Status != "SUCCEEDED" || s.Attempt != 1 || s.Progress != 1 || s.Kind == "" || s.Error != nil ||
			s.CreatedAt.IsZero() || s.StartedAt == nil || s.FinishedAt == nil || s.FinishedAt.Before(*s.StartedAt) {
			t.Fatalf("step %+v", s)
		}
	}
	if got.Steps[0].Kind != "CMA_ANALYSIS" {
		t.Fatalf("cma step kind %q", got.Steps[0].Kind)
	}

	failed := f.finished(t, bad.ID)
	if failed.Status != "FAILED" || failed.Steps[0].Status != "FAILED" || failed.Steps[0].Error == nil ||
		!strings.Contains(*failed.Steps[0].Error, "no comparable sales") || string(failed.Steps[0].Output) != "null" {
		t.Fatalf("failed run: %+v", failed)
	}
	for _, s := range failed.Steps[1:] {
		if s.Status != "SKIPPED" {
			t.Fatalf("downstream step %s is %s", s.Key, s.Status)
		}
	}

	// Another organization's run answers exactly like one that does not exist.
	rivalTok, _ := rivalToken(t, f.testAPI)
	mine := restCall(t, f.srv.URL, f.token, http.MethodGet, restRuns+"/"+ok.ID, nil, nil)
	mine.ok(t, http.StatusOK, nil)
	theirs := restCall(t, f.srv.URL, rivalTok, http.MethodGet, restRuns+"/"+ok.ID, nil, nil)
	theirs.wantError(t, http.StatusNotFound, "NOT_FOUND", "id")
	id, _ := strconv.Atoi(ok.ID)
	for _, unknown := range []string{strconv.Itoa(id + 1000), f.propertyID} {
		resp := restCall(t, f.srv.URL, rivalTok, http.MethodGet, restRuns+"/"+unknown, nil, nil)
		resp.wantError(t, http.StatusNotFound, "NOT_FOUND", "id")
		if !bytes.Equal(resp.raw, theirs.raw) || resp.header.Get("Content-Type") != theirs.header.Get("Content-Type") {
			t.Fatalf("unknown ID %s: %s; another organization's run: %s", unknown, resp.raw, theirs.raw)
		}
	}
	var rivalPage restPage
	restCall(t, f.srv.URL, rivalTok, http.MethodGet, restRuns, nil, nil).ok(t, http.StatusOK, &rivalPage)
	if len(rivalPage.Runs) != 0 || rivalPage.NextCursor != nil {
		t.Fatalf("the rival lists %+v", rivalPage)
	}

	for _, tc := range []struct {
		name, method, path string
		status             int
		code, field, allow string
	}{
		{"not an ID", http.MethodGet, restRuns + "/abc", http.StatusBadRequest, "BAD_USER_INPUT", "id", ""},
		{"negative ID", http.MethodGet, restRuns + "/-1", http.StatusBadRequest, "BAD_USER_INPUT", "id", ""},
		{"ID too large", http.MethodGet, restRuns + "/99999999999999999999999", http.StatusBadRequest, "BAD_USER_INPUT", "id", ""},
		{"unknown path", http.MethodGet, "/api/v1/orchestration/packages", http.StatusNotFound, "NOT_FOUND", "", ""},
		{"nested path", http.MethodGet, restRuns + "/" + ok.ID + "/events", http.StatusNotFound, "NOT_FOUND", "", ""},
		{"DELETE a run", http.MethodDelete, restRuns + "/" + ok.ID, http.StatusMethodNotAllowed, "BAD_USER_INPUT", "", "GET"},
		{"POST to a run", http.MethodPost, restRuns + "/" + ok.ID, http.StatusMethodNotAllowed, "BAD_USER_INPUT", "", "GET"},
		{"PUT the runs", http.MethodPut, restRuns, http.StatusMethodNotAllowed, "BAD_USER_INPUT", "", "GET, POST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := f.rest(t, tc.method, tc.path, nil)
			resp.wantError(t, tc.status, tc.code, tc.field)
			if got := resp.header.Get("Allow"); got != tc.allow {
				t.Fatalf("Allow %q, want %q", got, tc.allow)
			}
		})
	}
}

func TestRESTAuthentication(t *testing.T) {
	t.Parallel()
	f := newRESTFixture(t)
	for _, tc := range []struct {
		name, method, token string
		header              map[string]string
	}{
		{"list without a token", http.MethodGet, "", nil},
		{"start without a token", http.MethodPost, "", nil},
		{"malformed token", http.MethodGet, "hello", nil},
		{"unknown token", http.MethodGet, "ef_" + strings.Repeat("a", 52), nil},
		// The authenticator lets a websocket upgrade without a token through,
		// for GraphQL's connection_init; REST still refuses it.
		{"websocket upgrade without a token", http.MethodGet, "", map[string]string{"Upgrade": "websocket", "Connection": "Upgrade"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.method == http.MethodPost {
				body = map[string]any{"packageId": f.listingID, "propertyId": f.propertyID}
			}
			resp := restCall(t, f.srv.URL, tc.token, tc.method, restRuns, body, tc.header)
			resp.wantError(t, http.StatusUnauthorized, "UNAUTHENTICATED", "")
			if resp.header.Get("WWW-Authenticate") == "" {
				t.Fatal("no WWW-Authenticate")
			}
		})
	}
	if n, err := f.ent().Run.Query().Count(f.ctx()); err != nil || n != 0 {
		t.Fatalf("%d runs (%v) started without a token", n, err)
	}
	// An expired token.
	soon := time.Now().Add(500 * time.Millisecond)
	expiring, _, err := f.authn.Issue(f.ctx(), f.db.Client, f.adminID, "short", &soon)
	if err != nil {
		t.Fatal(err)
	}
	restCall(t, f.srv.URL, expiring, http.MethodGet, restRuns, nil, nil).ok(t, http.StatusOK, nil)
	time.Sleep(time.Until(soon) + 50*time.Millisecond)
	if msg := restCall(t, f.srv.URL, expiring, http.MethodGet, restRuns, nil, nil).wantError(t, http.StatusUnauthorized, "UNAUTHENTICATED", ""); !strings.Contains(msg, "expired") {
		t.Fatalf("expired token: %q", msg)
	}
}

func TestRESTRateLimitSharedWithGraphQL(t *testing.T) {
	t.Parallel()
	f := newRESTFixture(t)
	srv := serverWith(t, f.testAPI, Config{RateLimit: 4})
	for i := range 2 {
		restCall(t, srv.URL, f.token, http.MethodGet, restRuns, nil, nil).ok(t, http.StatusOK, nil)
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", strings.NewReader(`{"query": "{ viewer { role } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+f.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("graphql request %d: %d", i+1, resp.StatusCode)
		}
	}
	resp := restCall(t, srv.URL, f.token, http.MethodGet, restRuns, nil, nil)
	resp.wantError(t, http.StatusTooManyRequests, "RATE_LIMITED", "")
	if resp.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
}

func TestRESTCORSPreflight(t *testing.T) {
	t.Parallel()
	f := newRESTFixture(t)
	srv := serverWith(t, f.testAPI, Config{CORSOrigins: "https://app.example.com"})
	preflight := func(path, origin, method string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, srv.URL+path, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", method)
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,idempotency-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct {
		name, path, origin, method string
		allowed                    bool
	}{
		{"start from the configured origin", restRuns, "https://app.example.com", http.MethodPost, true},
		{"list from localhost", restRuns, "http://localhost:5173", http.MethodGet, true},
		{"one run from the configured origin", restRuns + "/17179869185", "https://app.example.com", http.MethodGet, true},
		{"start from another origin", restRuns, "https://evil.example.com", http.MethodPost, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := preflight(tc.path, tc.origin, tc.method)
			got := resp.Header.Get("Access-Control-Allow-Origin")
			if tc.allowed {
				if resp.StatusCode >= 300 || got != tc.origin {
					t.Fatalf("status %d, Access-Control-Allow-Origin %q", resp.StatusCode, got)
				}
				if h := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")); !strings.Contains(h, "idempotency-key") || !strings.Contains(h, "authorization") {
					t.Fatalf("Access-Control-Allow-Headers %q", h)
				}
				return
			}
			if got != "" {
				t.Fatalf("a foreign origin got Access-Control-Allow-Origin %q", got)
			}
		})
	}
	// The actual request carries the CORS headers too, errors included.
	resp := restCall(t, srv.URL, "", http.MethodGet, restRuns, nil, map[string]string{"Origin": "https://app.example.com"})
	resp.wantError(t, http.StatusUnauthorized, "UNAUTHENTICATED", "")
	if got := resp.header.Get("Access-Control-Allow-Origin"); got != "https://app.example.com" {
		t.Fatalf("Access-Control-Allow-Origin %q on a refusal", got)
	}
	resp = restCall(t, srv.URL, f.token, http.MethodGet, restRuns, nil, map[string]string{"Origin": "https://app.example.com"})
	resp.ok(t, http.StatusOK, nil)
	if got := resp.header.Get("Access-Control-Allow-Origin"); got != "https://app.example.com" {
		t.Fatalf("Access-Control-Allow-Origin %q", got)
	}
}
