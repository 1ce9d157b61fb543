package spec

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// ParamType is the JSON shape a run parameter must have.
type ParamType string

// The parameter types the executors read.
const (
	// Number is any JSON number.
	Number ParamType = "number"
	// Integer is a JSON number without a fractional part.
	Integer ParamType = "integer"
	// Date is a string in the form YYYY-MM-DD.
	Date ParamType = "date"
	// DateTime is an RFC 3339 string, such as 2026-06-01T00:00:00Z.
	DateTime ParamType = "date-time"
)

// Param is a run parameter an executor reads, and the values it accepts.
type Param struct {
	Name string
	Type ParamType
	// Min and Max bound a Number or Integer; nil leaves that side open.
	Min, Max *float64
	// Default says, for people, what an absent parameter means.
	Default string
}

// Check reports why v is not an acceptable value of p, or nil. A JSON null
// is accepted: the executors treat it as an absent parameter.
func (p Param) Check(v any) error {
	if v == nil {
		return nil
	}
	switch p.Type {
	case Number, Integer:
		n, ok := asNumber(v)
		if !ok || math.IsNaN(n) || math.IsInf(n, 0) {
			return fmt.Errorf("must be %s, got %s", p.describe(), show(v))
		}
		// Beyond 2^53 a float64 no longer holds every whole number.
		if p.Type == Integer && (n != math.Trunc(n) || math.Abs(n) > 1<<53) {
			return fmt.Errorf("must be %s, got %s", p.describe(), show(v))
		}
		if (p.Min != nil && n < *p.Min) || (p.Max != nil && n > *p.Max) {
			return fmt.Errorf("must be %s, got %s", p.describe(), show(v))
		}
	case Date:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("must be %s, got %s", p.describe(), show(v))
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return fmt.Errorf("must be %s, got %s", p.describe(), show(v))
		}
	case DateTime:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("must be %s, got %s", p.describe(), show(v))
		}
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return fmt.Errorf("must be %s, got %s", p.describe(), show(v))
		}
	default:
		return fmt.Errorf("has an undeclared type %q", p.Type)
	}
	return nil
}

// describe says in words what values p accepts.
func (p Param) describe() string {
	switch p.Type {
	case Date:
		return "a date (YYYY-MM-DD)"
	case DateTime:
		return "a date and time (RFC 3339, such as 2026-06-01T00:00:00Z)"
	}
	what := "a number"
	if p.Type == Integer {
		what = "a whole number"
	}
	switch {
	case p.Min != nil && p.Max != nil:
		return fmt.Sprintf("%s from %s to %s", what, formatBound(*p.Min), formatBound(*p.Max))
	case p.Min != nil:
		return fmt.Sprintf("%s of at least %s", what, formatBound(*p.Min))
	case p.Max != nil:
		return fmt.Sprintf("%s of at most %s", what, formatBound(*p.Max))
	}
	return what
}

func formatBound(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// asNumber reads a number in any form it reaches the start check in:
// float64 from encoding/json (REST), json.Number from GraphQL variables,
// int64 or float64 from a literal in the GraphQL document, int from Go.
func asNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func show(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case float64:
		return formatBound(x)
	case bool, int, int32, int64, float32, json.Number:
		return fmt.Sprint(x)
	}
	return fmt.Sprintf("a %T", v)
}

// Describe says in words what values p accepts, for clients that show the
// parameter to a person.
func (p Param) Describe() string { return p.describe() }
