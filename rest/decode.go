package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/estateflow/estateflow/internal/jsontext"
)

// decodeBody reads a request's JSON object into v, which must be a pointer
// to a struct. Unknown fields, wrong types, trailing data and malformed JSON
// are BAD_USER_INPUT naming the field at fault where there is one; a body
// over BodyLimit's limit is 413. Numbers inside free-form maps stay
// json.Number, as gqlgen decodes them, so that the same input hashes the same
// for the engine's idempotency check whichever API it came through.
func decodeBody(r *http.Request, v any) error {
	if r.Body == nil || r.Body == http.NoBody {
		return badInput("", "the request body is empty: send a JSON object")
	}
	raw, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		e := badInput("", "the request body is larger than %d bytes", tooLarge.Limit)
		e.status = http.StatusRequestEntityTooLarge
		return e
	case err != nil:
		return badInput("", "could not read the request body")
	case len(bytes.TrimSpace(raw)) == 0:
		return badInput("", "the request body is empty: send a JSON object")
	}
	// encoding/json would turn invalid UTF-8 and lone surrogates into
	// U+FFFD without a word.
	if p := jsontext.Check(raw); p != nil {
		return badInput(p.Path, "%s", p.Reason)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badInput("", "the request body must hold one JSON object and nothing after it")
	}
	return nil
}

// jsonError names the field a decoding error is about.
func jsonError(err error) *apiError {
	var (
		syntax    *json.SyntaxError
		typeError *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		return badInput("", "the request body is not valid JSON (at byte %d)", syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badInput("", "the request body is not valid JSON (it ends too soon)")
	case errors.As(err, &typeError):
		if typeError.Field == "" {
			return badInput("", "the request body must be a JSON object, not %s", article(typeError.Value))
		}
		return badInput(typeError.Field, "%s must be %s, not %s", typeError.Field, jsonKind(typeError.Type.Kind().String()), article(typeError.Value))
	}
	// encoding/json reports an unknown field only by this message.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return badInput(name, "unknown field %q", name)
	}
	return badInput("", "the request body is not valid JSON")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "map", "struct":
		return "a JSON object"
	case "slice", "array":
		return "an array"
	case "bool":
		return "true or false"
	default:
		return "a number"
	}
}

// article puts "a" or "an" before the JSON kind encoding/json names
// ("string", "number", "object", "array", "bool").
func article(kind string) string {
	switch kind {
	case "object", "array":
		return "an " + kind
	case "bool":
		return "true or false"
	case "":
		return "this value"
	}
	return "a " + kind
}

// parseID reads a global ID: a whole number, given as a string (as the
// GraphQL API returns them) or, leniently, as a JSON number.
func parseID(field string, raw json.RawMessage) (int, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return 0, badInput(field, "%s must be an ID string such as \"17179869185\"", field)
		}
		s = n.String()
	}
	return parseIDString(field, s)
}

func parseIDString(field, s string) (int, error) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, badInput(field, "%q is not an ID: EstateFlow IDs are whole numbers such as \"17179869185\"", s)
	}
	id, err := strconv.ParseInt(s, 10, 0)
	if err != nil || id <= 0 {
		return 0, badInput(field, "%q is not an ID: EstateFlow IDs are whole numbers such as \"17179869185\"", s)
	}
	return int(id), nil
}

// optionalID reads an ID that may be absent or null.
func optionalID(field string, raw json.RawMessage) (*int, error) {
	if isAbsent(raw) {
		return nil, nil
	}
	id, err := parseID(field, raw)
	if err != nil {
		return nil, err
	}
	return &id, nil
}

func isAbsent(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}
