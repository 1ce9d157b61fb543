package rest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
)

// TestOpenAPIValidates: the document is OpenAPI 3.1 and valid against the
// 3.1 specification's schema, and names every endpoint the handler routes.
func TestOpenAPIValidates(t *testing.T) {
	t.Parallel()
	raw, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	if v := doc.GetVersion(); !strings.HasPrefix(v, "3.1") {
		t.Fatalf("OpenAPI version %q, want 3.1", v)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("building the validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  %s at %s", se.Reason, se.FieldPath+" ("+se.KeywordLocation+")")
			}
		}
		t.FailNow()
	}
	// The validation can fail: a document without info is refused.
	var broken map[string]any
	if err := json.Unmarshal(raw, &broken); err != nil {
		t.Fatal(err)
	}
	delete(broken, "info")
	brokenRaw, _ := json.Marshal(broken)
	if brokenDoc, err := libopenapi.NewDocument(brokenRaw); err == nil {
		if bv, errs := validator.NewValidator(brokenDoc); len(errs) == 0 {
			if ok, _ := bv.ValidateDocument(); ok {
				t.Fatal("a document without info validated")
			}
		}
	}
	var parsed struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(raw, &parsed); err != nil {
		t.Fatal(err)
	}
	for path, method := range map[string]string{runsPath: "post", runPath: "get", reportPath: "get", OpenAPIPath: "get"} {
		if _, ok := parsed.Paths[path][method]; !ok {
			t.Errorf("%s %s is not documented", method, path)
		}
	}
}
