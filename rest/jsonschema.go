package rest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode"
)

// schemaObj is a JSON Schema (2020-12, as OpenAPI 3.1 uses it), kept as a
// map so that it marshals exactly as written.
type schemaObj = map[string]any

// schemaGen derives JSON Schemas from the Go types the handlers encode and
// decode, with encoding/json's rules: json tags name the properties, a
// field without omitempty is required, a pointer, slice or map may be null
// (as encoding/json writes nil ones), time.Time is a date-time string and
// json.RawMessage is any JSON. Named structs become components/schemas,
// referenced by $ref.
type schemaGen struct {
	// names gives some types their public names; others take their Go name.
	names map[reflect.Type]string
	// custom gives some types a schema of their own (an interface's
	// variants, say).
	custom map[reflect.Type]func(*schemaGen) schemaObj
	defs   map[string]schemaObj
	owner  map[string]reflect.Type // which type took each name
	err    error
}

func newSchemaGen() *schemaGen {
	return &schemaGen{
		names:  map[reflect.Type]string{},
		custom: map[reflect.Type]func(*schemaGen) schemaObj{},
		defs:   map[string]schemaObj{},
		owner:  map[string]reflect.Type{},
	}
}

var (
	timeType = reflect.TypeFor[time.Time]()
	rawType  = reflect.TypeFor[json.RawMessage]()
)

// of returns the schema of values of t.
func (g *schemaGen) of(t reflect.Type) schemaObj {
	if f, ok := g.custom[t]; ok {
		return f(g)
	}
	switch {
	case t == timeType:
		return schemaObj{"type": "string", "format": "date-time"}
	case t == rawType:
		return schemaObj{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(g.of(t.Elem()))
	case reflect.Bool:
		return schemaObj{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return schemaObj{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return schemaObj{"type": "number"}
	case reflect.String:
		return schemaObj{"type": "string"}
	case reflect.Slice, reflect.Array:
		return nullable(schemaObj{"type": "array", "items": g.of(t.Elem())})
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			g.fail("map key %s of %s is not a string", t.Key(), t)
		}
		return nullable(schemaObj{"type": "object", "additionalProperties": g.of(t.Elem())})
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return schemaObj{}
		}
		g.fail("interface %s has no schema: give it one in custom", t)
		return schemaObj{}
	case reflect.Struct:
		return g.ref(t)
	}
	g.fail("type %s has no JSON schema", t)
	return schemaObj{}
}

// ref puts a struct's schema in the components and references it.
func (g *schemaGen) ref(t reflect.Type) schemaObj {
	name := g.names[t]
	if name == "" {
		name = exported(t.Name())
	}
	if name == "" {
		return g.object(t) // an anonymous struct stays inline
	}
	if prev, ok := g.owner[name]; ok {
		if prev != t {
			g.fail("schema name %s is taken by %s and %s: name one of them", name, prev, t)
		}
	} else {
		g.owner[name] = t
		g.defs[name] = nil // reserved, for recursive types
		g.defs[name] = g.object(t)
	}
	return schemaObj{"$ref": "#/components/schemas/" + name}
}

// object is a struct's schema, its properties in field order.
func (g *schemaGen) object(t reflect.Type) schemaObj {
	props := schemaObj{}
	required := []string{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			g.fail("embedded field %s of %s: flatten it by hand", f.Name, t)
			continue
		}
		if name == "" {
			name = f.Name
		}
		s := g.of(f.Type)
		if strings.Contains(opts, "string") {
			s = schemaObj{"type": "string"}
		}
		props[name] = s
		if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
			required = append(required, name)
		}
	}
	return schemaObj{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}

func (g *schemaGen) fail(format string, args ...any) {
	if g.err == nil {
		g.err = fmt.Errorf("openapi: "+format, args...)
	}
}

// nullable lets s also be null: a type list for plain types, anyOf for the
// rest ($ref, anyOf, any).
func nullable(s schemaObj) schemaObj {
	if len(s) == 0 {
		return s // any JSON value includes null
	}
	if typ, ok := s["type"].(string); ok {
		out := schemaObj{}
		for k, v := range s {
			out[k] = v
		}
		out["type"] = []string{typ, "null"}
		return out
	}
	return schemaObj{"anyOf": []any{s, schemaObj{"type": "null"}}}
}

func exported(name string) string {
	if name == "" {
		return ""
	}
	r := []rune(name)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}
