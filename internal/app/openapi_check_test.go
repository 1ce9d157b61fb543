package app

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/helpers"

	"github.com/estateflow/estateflow/rest"
)

// restSpec is the REST API's OpenAPI document as a response validator,
// built once for the test binary (it is read-only once built).
var restSpec = sync.OnceValues(func() (validator.Validator, error) {
	raw, err := rest.OpenAPI()
	if err != nil {
		return nil, err
	}
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		return nil, err
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return v, nil
})

// restSpecMu serialises validations: the validator's caches are not
// documented as safe for concurrent use, and parallel tests share it.
var restSpecMu sync.Mutex

// checkOpenAPI fails t unless a REST response is one the OpenAPI document
// describes for its request: a documented status, media type and a body
// valid against its schema. A request to a path or method the document does
// not list must have been refused with 404 or 405 in the REST error shape.
func checkOpenAPI(t testing.TB, method, url string, reqHeader map[string]string, status int, header http.Header, raw []byte) {
	t.Helper()
	v, err := restSpec()
	if err != nil {
		t.Fatalf("the OpenAPI document: %v", err)
	}
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, val := range reqHeader {
		req.Header.Set(k, val)
	}
	resp := &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(bytes.NewReader(raw)), Request: req}
	restSpecMu.Lock()
	ok, errs := v.ValidateHttpResponse(req, resp)
	restSpecMu.Unlock()
	if ok {
		return
	}
	undocumented := true
	for _, e := range errs {
		if e.ValidationType != helpers.PathValidation {
			undocumented = false
		}
	}
	if undocumented && (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) {
		var body struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
				Field   string `json:"field"`
			} `json:"error"`
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err == nil && body.Error.Code != "" && body.Error.Message != "" {
			return
		}
	}
	var msgs []string
	for _, e := range errs {
		msg := e.Message + ": " + e.Reason
		for _, se := range e.SchemaValidationErrors {
			msg += "\n    " + se.Reason + " at " + se.FieldPath + " (" + se.KeywordLocation + ")"
		}
		msgs = append(msgs, msg)
	}
	body := raw
	if len(body) > 2000 {
		body = body[:2000]
	}
	t.Fatalf("%s %s → %d does not match the OpenAPI document:\n  %s\nbody: %s", method, url, status, strings.Join(msgs, "\n  "), body)
}
