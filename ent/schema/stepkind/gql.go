package stepkind

import (
	"fmt"
	"io"
	"slices"
	"strconv"
)

// MarshalGQL writes the kind as a GraphQL enum value.
func (k Kind) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(k))) }

// UnmarshalGQL reads a GraphQL enum value, rejecting unknown kinds.
func (k *Kind) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("step kind must be a string, got %T", v)
	}
	if !Kind(s).Valid() {
		return fmt.Errorf("%q is not a known step kind (one of %v)", s, Kind("").Values())
	}
	*k = Kind(s)
	return nil
}

// MarshalGQL writes the subject as a GraphQL enum value.
func (s Subject) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(s))) }

// UnmarshalGQL reads a GraphQL enum value, rejecting unknown subjects.
func (s *Subject) UnmarshalGQL(v any) error {
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("subject must be a string, got %T", v)
	}
	if !slices.Contains(Subject("").Values(), str) {
		return fmt.Errorf("%q is not a subject (one of %v)", str, Subject("").Values())
	}
	*s = Subject(str)
	return nil
}
