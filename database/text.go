package database

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode"

	"github.com/estateflow/estateflow/ent"
)

// InvalidTextError refuses a value that one of the two databases cannot
// store: PostgreSQL rejects NUL in text, while SQLite takes it, so without
// this check the same input would be stored on one and fail on the other.
type InvalidTextError struct {
	Field string // the ent field name (snake_case)
}

func (e *InvalidTextError) Error() string {
	return fmt.Sprintf("%s must not contain NUL characters", e.Field)
}

// rejectNUL checks every string and string-list value of every mutation,
// so that importers, REST and GraphQL all refuse NUL the same way.
func rejectNUL(client *ent.Client) {
	var appends appendedLists
	client.Use(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			for _, name := range m.Fields() {
				value, _ := m.Field(name)
				if hasNUL(value) {
					return nil, &InvalidTextError{Field: name}
				}
			}
			if name, ok := appends.withNUL(m); ok {
				return nil, &InvalidTextError{Field: name}
			}
			return next.Mutate(ctx, m)
		})
	})
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

func (a *appendedLists) withNUL(m ent.Mutation) (string, bool) {
	v := reflect.ValueOf(m)
	lists, ok := a.byType.Load(v.Type())
	if !ok {
		lists, _ = a.byType.LoadOrStore(v.Type(), appendedListsOf(v.Type()))
	}
	for _, l := range lists.([]appendedList) {
		out := v.Method(l.method).Call(nil)
		if out[1].Bool() && hasNUL(out[0].Interface()) {
			return l.field, true
		}
	}
	return "", false
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

func hasNUL(value ent.Value) bool {
	switch v := value.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case []string:
		for _, s := range v {
			if strings.ContainsRune(s, 0) {
				return true
			}
		}
	case map[string]any:
		// PostgreSQL's jsonb refuses NUL in keys and values alike. The
		// strings are walked rather than the JSON searched for \u0000,
		// which an escaped backslash before "u0000" would also match.
		for k, e := range v {
			if strings.ContainsRune(k, 0) || hasNUL(e) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasNUL(e) {
				return true
			}
		}
	case nil, bool, float64, float32, int, int64, int32, json.Number:
	default:
		// Typed values inside JSON (structs, typed slices): walk them as
		// the JSON they are stored as.
		b, err := json.Marshal(v)
		if err != nil {
			return false
		}
		var generic any
		if err := json.Unmarshal(b, &generic); err != nil {
			return false
		}
		return hasNUL(generic)
	}
	return false
}
