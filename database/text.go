package database

import (
	"context"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/schema"
)

// InvalidTextError refuses a value that one of the two databases cannot
// store: PostgreSQL rejects NUL and invalid UTF-8 in text, while SQLite
// takes both, so without this check the same input would be stored on one
// and fail on the other.
type InvalidTextError struct {
	Field string // the ent field name (snake_case)
	// InvalidUTF8 is set when the text is not valid UTF-8 (which is also
	// how a lone UTF-16 surrogate arrives in Go); otherwise it holds NUL.
	InvalidUTF8 bool
}

func (e *InvalidTextError) Error() string { return e.Field + " " + e.Problem() }

// Problem says, for a client, what is wrong with the text.
func (e *InvalidTextError) Problem() string {
	if e.InvalidUTF8 {
		return "must be valid UTF-8 (no invalid bytes or lone surrogates)"
	}
	return "must not contain NUL characters"
}

// rejectInvalidValues checks every value of every mutation, so that
// importers, REST and GraphQL all refuse them the same way, whatever the
// schema's validators say: NUL and invalid UTF-8 in any string, string list
// or JSON value, and NaN or ±Infinity in any float (PostgreSQL stores them
// and no GraphQL read can return them; SQLite turns NaN into NULL).
func rejectInvalidValues(client *ent.Client, appends *appendedLists) {
	client.Use(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			for _, name := range m.Fields() {
				value, _ := m.Field(name)
				if err := checkValue(name, value); err != nil {
					return nil, err
				}
			}
			// AddBaths(NaN) is an UPDATE ... SET baths = baths + NaN: NULL on
			// SQLite, NaN on PostgreSQL.
			for _, name := range m.AddedFields() {
				if value, _ := m.AddedField(name); isNonFinite(value) {
					return nil, &schema.FieldError{Field: name, Reason: "must be a finite number"}
				}
			}
			if err := appends.check(m); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		})
	})
}

func checkValue(field string, value ent.Value) error {
	// One walk finds either fault: a JSON value may be large.
	invalidUTF8 := false
	if anyString(value, func(s string) bool {
		invalidUTF8 = !utf8.ValidString(s)
		return invalidUTF8 || strings.ContainsRune(s, 0)
	}) {
		return &InvalidTextError{Field: field, InvalidUTF8: invalidUTF8}
	}
	if isNonFinite(value) {
		return &schema.FieldError{Field: field, Reason: "must be a finite number"}
	}
	return nil
}

func isNonFinite(value ent.Value) bool {
	var f float64
	switch v := value.(type) {
	case float64:
		f = v
	case float32:
		f = float64(v)
	default:
		return false
	}
	return math.IsNaN(f) || math.IsInf(f, 0)
}

// appendedLists finds the values a mutation appends to its JSON list fields
// (ent's Append<Field>), which m.Field does not report. ent generates an
// Appended<Field> method for each such field but no generic accessor, so
// they are found by reflection, once per mutation type.
type appendedLists struct {
	byType sync.Map // reflect.Type → []appendedList
}

type appendedList struct {
	method int    // index of the Appended<Field> method
	field  string // the ent field name (snake_case)
}

func (a *appendedLists) check(m ent.Mutation) error {
	v := reflect.ValueOf(m)
	lists, ok := a.byType.Load(v.Type())
	if !ok {
		lists, _ = a.byType.LoadOrStore(v.Type(), appendedListsOf(v.Type()))
	}
	for _, l := range lists.([]appendedList) {
		out := v.Method(l.method).Call(nil)
		if out[1].Bool() {
			if err := checkValue(l.field, out[0].Interface()); err != nil {
				return err
			}
		}
	}
	return nil
}

func appendedListsOf(t reflect.Type) []appendedList {
	var lists []appendedList
	for i := range t.NumMethod() {
		meth := t.Method(i)
		field, ok := strings.CutPrefix(meth.Name, "Appended")
		if !ok || field == "" || meth.Type.NumIn() != 1 || meth.Type.NumOut() != 2 || meth.Type.Out(1).Kind() != reflect.Bool {
			continue
		}
		lists = append(lists, appendedList{method: i, field: snakeCase(field)})
	}
	return lists
}

// snakeCase turns ent's PascalCase field names (PreferredAreas) back into
// the schema's (preferred_areas).
func snakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// anyString reports whether bad holds for any string in value: a string,
// a string list, or any key or string inside a JSON value.
func anyString(value ent.Value, bad func(string) bool) bool {
	switch v := value.(type) {
	case string:
		return bad(v)
	case []string:
		for _, s := range v {
			if bad(s) {
				return true
			}
		}
	case map[string]any:
		// PostgreSQL's jsonb refuses NUL in keys and values alike. The
		// strings are walked rather than the JSON searched for \u0000,
		// which an escaped backslash before "u0000" would also match.
		for k, e := range v {
			if bad(k) || anyString(e, bad) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if anyString(e, bad) {
				return true
			}
		}
	case nil, bool, float64, float32, int, int64, int32, json.Number:
	default:
		// Typed values inside JSON (structs, typed slices: a step's
		// output) are judged as the JSON they are stored as. Marshaling
		// turns invalid UTF-8 into U+FFFD and NUL into \u0000, so a NUL
		// escape is the one fault the text can hold. Scanning the text
		// finds it without decoding it again, which for a CMA's output
		// was most of the check's cost.
		b, err := json.Marshal(v)
		if err != nil {
			return false
		}
		return hasEscapedNUL(b) && bad("\x00")
	}
	return false
}

// hasEscapedNUL reports whether JSON text holds the escape \u0000. JSON has
// backslashes only inside strings, and an escaped backslash ("\\") does not
// start an escape, so the scan skips the character after each backslash.
func hasEscapedNUL(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		if i+5 < len(b) && b[i+1] == 'u' && string(b[i+2:i+6]) == "0000" {
			return true
		}
		i++
	}
	return false
}
