// Package scalar holds the GraphQL API's marshallers for the built-in Float
// and Int scalars. They decode as gqlgen's own do, and refuse the values
// GraphQL does not define: NaN and ±Infinity for Float (which gqlgen's
// decoder accepts as the strings "NaN" and "Inf", and which no client can
// read back), and whole numbers beyond 32 bits for Int.
//
// The Go types stay float64, int and int64, so that entgql's generated
// pagination and field collection keep working (the graphql.Int32 mapping
// breaks them).
package scalar

import (
	"context"
	"fmt"
	"math"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalFloat writes a Float; a non-finite value is a field error.
func MarshalFloat(f float64) graphql.ContextMarshaler {
	return graphql.MarshalFloatContext(f)
}

// UnmarshalFloat reads a Float input and refuses NaN and ±Infinity.
func UnmarshalFloat(ctx context.Context, v any) (float64, error) {
	f, err := graphql.UnmarshalFloatContext(ctx, v)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%v is not a Float: NaN and Infinity are not numbers GraphQL can carry", v)
	}
	return f, nil
}

// MarshalInt writes an Int. Values beyond 32 bits are written as they are
// rather than failing the read: every writer refuses them (see
// UnmarshalInt), so only rows written before that check can hold one, and
// they stay readable.
func MarshalInt(i int) graphql.Marshaler { return graphql.MarshalInt(i) }

// UnmarshalInt reads an Int input and refuses values beyond 32 bits, as the
// GraphQL specification's Int is.
func UnmarshalInt(v any) (int, error) {
	i, err := graphql.UnmarshalInt64(v)
	if err != nil {
		return 0, err
	}
	if err := checkInt32(i); err != nil {
		return 0, err
	}
	return int(i), nil
}

// MarshalInt64 writes an Int held in an int64 (see MarshalInt).
func MarshalInt64(i int64) graphql.Marshaler { return graphql.MarshalInt64(i) }

// UnmarshalInt64 reads an Int input into an int64, refusing values beyond
// 32 bits.
func UnmarshalInt64(v any) (int64, error) {
	i, err := graphql.UnmarshalInt64(v)
	if err != nil {
		return 0, err
	}
	if err := checkInt32(i); err != nil {
		return 0, err
	}
	return i, nil
}

func checkInt32(i int64) error {
	if i < math.MinInt32 || i > math.MaxInt32 {
		return fmt.Errorf("%d is not an Int: GraphQL's Int is 32-bit (%d to %d)", i, math.MinInt32, math.MaxInt32)
	}
	return nil
}
