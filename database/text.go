package database

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

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
	client.Use(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			for _, name := range m.Fields() {
				value, _ := m.Field(name)
				if hasNUL(value) {
					return nil, &InvalidTextError{Field: name}
				}
			}
			return next.Mutate(ctx, m)
		})
	})
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
	case map[string]any, []any:
		// PostgreSQL's jsonb refuses the \u0000 escape as well.
		b, err := json.Marshal(v)
		return err == nil && bytes.Contains(b, []byte(`\u0000`))
	}
	return false
}
