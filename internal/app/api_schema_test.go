package app

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/estateflow/estateflow/rest"
)

// TestSchemaDownload: /graphql/schema.graphql serves the public SDL, which
// parses and validates as a schema on its own, has the root types and the
// cost directives, and no code-generation directive. With introspection
// off, there is no download either.
func TestSchemaDownload(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{config: func(c *Config) { c.Introspection = true }})
	status, header, raw := send(t, http.MethodGet, api.srv.URL+"/graphql/schema.graphql", "", nil, nil)
	if status != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %s: %.300s", status, header.Get("Content-Type"), raw)
	}
	sdl := string(raw)
	schema, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: sdl})
	if err != nil {
		t.Fatalf("the served SDL does not load as a schema: %v", err)
	}
	if schema.Query == nil || schema.Query.Name != "Query" || schema.Mutation == nil || schema.Subscription == nil {
		t.Fatalf("root types: query %v, mutation %v, subscription %v", schema.Query, schema.Mutation, schema.Subscription)
	}
	for _, name := range []string{"Run", "StepRun", "CMAReport", "ListingStrategy", "StepOutput", "Node"} {
		if schema.Types[name] == nil {
			t.Errorf("type %s is missing", name)
		}
	}
	if f := schema.Types["Run"].Fields.ForName("reportUrl"); f == nil || f.Type.String() != "String!" {
		t.Errorf("Run.reportUrl: %v", f)
	}
	for _, d := range []string{"@goField", "@goModel", "@goTag", "@goExtraField", "directive @go"} {
		if strings.Contains(sdl, d) {
			t.Errorf("the SDL has %s", d)
		}
	}
	if schema.Directives["cost"] == nil || schema.Directives["expensive"] == nil || !strings.Contains(sdl, "@cost(weight:") {
		t.Error("the SDL lacks the @cost and @expensive directives clients budget operations with")
	}

	// The same schema as introspection: every type introspection lists is
	// in the SDL, with the same fields.
	var intro struct {
		Schema struct {
			Types []struct {
				Name   string
				Fields []struct{ Name string }
			}
		} `json:"__schema"`
	}
	api.do(`{ __schema { types { name fields(includeDeprecated: true) { name } } } }`, nil).ok(t, &intro)
	for _, typ := range intro.Schema.Types {
		if strings.HasPrefix(typ.Name, "__") {
			continue
		}
		def := schema.Types[typ.Name]
		if def == nil {
			t.Errorf("introspection has type %s, the SDL does not", typ.Name)
			continue
		}
		for _, f := range typ.Fields {
			if def.Fields.ForName(f.Name) == nil {
				t.Errorf("introspection has %s.%s, the SDL does not", typ.Name, f.Name)
			}
		}
	}

	closed := newTestAPI(t, testOptions{})
	if status, _, _ := send(t, http.MethodGet, closed.srv.URL+"/graphql/schema.graphql", "", nil, nil); status != http.StatusNotFound {
		t.Fatalf("with introspection off: %d, want 404", status)
	}
}

// TestOpenAPIServed: the document at /api/v1/openapi.json needs no token
// and is the one the REST tests check responses against.
func TestOpenAPIServed(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	status, header, raw := send(t, http.MethodGet, api.srv.URL+"/api/v1/openapi.json", "", nil, nil)
	if status != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "application/json") {
		t.Fatalf("%d %s: %.300s", status, header.Get("Content-Type"), raw)
	}
	want, err := rest.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != string(want) {
		t.Fatal("the served document is not the one the tests validate against")
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q (%v)", doc.OpenAPI, err)
	}
	if _, ok := doc.Paths["/api/v1/runs/{id}/report"]["get"]; !ok {
		t.Fatal("the report is not documented")
	}
	// The document is checked too: through restCall, like every REST call.
	restCall(t, api.srv.URL, "", http.MethodGet, "/api/v1/openapi.json", nil, nil).ok(t, http.StatusOK, nil)
}

// TestOpenAPICheckCatchesDrift: the check every REST test's responses pass
// through refuses a response the document does not describe.
func TestOpenAPICheckCatchesDrift(t *testing.T) {
	t.Parallel()
	const url = "http://127.0.0.1:1/api/v1/orchestration/runs"
	jsonHeader := http.Header{"Content-Type": []string{"application/json; charset=utf-8"}}
	for _, tc := range []struct {
		name   string
		status int
		header http.Header
		body   string
	}{
		{"a field the type does not have", http.StatusOK, jsonHeader, `{"runs": [], "nextCursor": null, "total": 3}`},
		{"a required field missing", http.StatusOK, jsonHeader, `{"runs": []}`},
		{"a field of the wrong type", http.StatusOK, jsonHeader, `{"runs": [], "nextCursor": 7}`},
		{"an undocumented status", http.StatusTeapot, jsonHeader, `{"error": {"code": "INTERNAL", "message": "x"}}`},
		{"an error code that does not exist", http.StatusBadRequest, jsonHeader, `{"error": {"code": "OOPS", "message": "x"}}`},
		{"an error without its shape", http.StatusBadRequest, jsonHeader, `{"message": "bad"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &fatalRecorder{TB: t}
			func() {
				defer func() {
					if r := recover(); r != nil && r != errFatal {
						panic(r)
					}
				}()
				checkOpenAPI(rec, http.MethodGet, url, nil, tc.status, tc.header, []byte(tc.body))
			}()
			if !rec.failed {
				t.Fatalf("the check let %d %s through", tc.status, tc.body)
			}
		})
	}
	// And lets a documented one through.
	rec := &fatalRecorder{TB: t}
	checkOpenAPI(rec, http.MethodGet, url, nil, http.StatusOK, jsonHeader, []byte(`{"runs": [], "nextCursor": null}`))
	if rec.failed {
		t.Fatal("the check refused a documented response")
	}
}

var errFatal = &struct{ string }{"fatal"}

// fatalRecorder records a Fatalf instead of ending the test.
type fatalRecorder struct {
	testing.TB
	failed bool
}

func (r *fatalRecorder) Helper() {}

func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.failed = true
	r.Logf("refused, as it should: "+format, args...)
	panic(errFatal)
}

func (r *fatalRecorder) Fatal(args ...any) {
	r.failed = true
	panic(errFatal)
}
