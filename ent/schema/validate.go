package schema

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/mail"
	"strings"
	"time"

	"entgo.io/ent"

	"github.com/estateflow/estateflow/ent/hook"
)

// validateEmail accepts a bare address ("ann@example.com"), not a display-name
// form, because the address is what email steps send to.
func validateEmail(s string) error {
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || !strings.Contains(s[strings.LastIndex(s, "@")+1:], ".") {
		return errors.New("must be an email address such as name@example.com")
	}
	return nil
}

// validateStringList rejects blank entries, which would only ever be typos.
func validateStringList(maxItems int) func([]string) error {
	return func(items []string) error {
		if len(items) > maxItems {
			return errors.New("too many entries")
		}
		for _, it := range items {
			if strings.TrimSpace(it) == "" {
				return errors.New("entries must not be blank")
			}
		}
		return nil
	}
}

// maxGraphQLInt bounds the whole numbers GraphQL reads and writes as Int,
// which is 32-bit: a larger price imported from a CSV could not be read
// back through the API. Dollar amounts this size cover every home.
const maxGraphQLInt = math.MaxInt32

// validateNotBlank refuses a name made only of white space, which NotEmpty
// lets through and which no list or search could show sensibly.
func validateNotBlank(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("must not be blank")
	}
	return nil
}

// validateFinite refuses NaN and ±Infinity. Range and Min/Max do not:
// every comparison with NaN is false. PostgreSQL stores them and then no
// GraphQL read can return the row; SQLite stores NaN as NULL.
func validateFinite(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return errors.New("must be a finite number")
	}
	return nil
}

// FieldError refuses a mutation for a rule that spans fields or that ent's
// field validators cannot express (time fields have none). Field is the ent
// field name (snake_case).
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Reason }

// The years every date a client sets must fall in. Real-estate dates
// (sales, listings, offers, closings, contacts, tasks) outside them are
// typos: year 0 from a zero value, 2999 for 1999.
const (
	MinYear = 1900
	MaxYear = 2100
)

// validateDates refuses a mutation that sets one of the given time fields
// outside MinYear..MaxYear (UTC).
func validateDates(fields ...string) ent.Hook {
	return hook.On(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			for _, name := range fields {
				v, ok := m.Field(name)
				if !ok {
					continue
				}
				t, ok := v.(time.Time)
				if !ok {
					continue
				}
				if y := t.UTC().Year(); y < MinYear || y > MaxYear {
					return nil, &FieldError{Field: name, Reason: fmt.Sprintf("must be a date from %d to %d", MinYear, MaxYear)}
				}
			}
			return next.Mutate(ctx, m)
		})
	}, ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne)
}

// validateOrder refuses a mutation after which high < low, the fields'
// values being ints or times. An update that sets only one of them is
// compared with the stored other; a bulk update (which has no one stored
// row to compare with) must then set both or clear the other.
func validateOrder(low, high, reason string) ent.Hook {
	return hook.On(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			lowValue, lowSet := m.Field(low)
			highValue, highSet := m.Field(high)
			if (!lowSet && !highSet) || m.FieldCleared(low) || m.FieldCleared(high) {
				return next.Mutate(ctx, m)
			}
			if !lowSet || !highSet {
				changed, stored, set := high, low, &lowValue
				if !highSet {
					changed, stored, set = low, high, &highValue
				}
				switch {
				case m.Op().Is(ent.OpCreate):
					return next.Mutate(ctx, m)
				case m.Op().Is(ent.OpUpdate):
					return nil, &FieldError{Field: changed, Reason: "can only be changed together with " + stored + " in a bulk update"}
				}
				old, err := m.OldField(ctx, stored)
				if err != nil {
					return nil, fmt.Errorf("reading the stored %s: %w", stored, err)
				}
				*set = derefValue(old)
			}
			if lowValue != nil && highValue != nil && less(highValue, lowValue) {
				field := high
				if !highSet {
					field = low
				}
				return nil, &FieldError{Field: field, Reason: reason}
			}
			return next.Mutate(ctx, m)
		})
	}, ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne)
}

// derefValue turns a Nillable field's stored value (*int, *time.Time) into
// the value m.Field reports, or nil when it is NULL.
func derefValue(v ent.Value) ent.Value {
	switch p := v.(type) {
	case *int:
		if p == nil {
			return nil
		}
		return *p
	case *time.Time:
		if p == nil {
			return nil
		}
		return *p
	}
	return v
}

func less(a, b ent.Value) bool {
	switch a := a.(type) {
	case int:
		b, ok := b.(int)
		return ok && a < b
	case time.Time:
		b, ok := b.(time.Time)
		return ok && a.Before(b)
	}
	return false
}
