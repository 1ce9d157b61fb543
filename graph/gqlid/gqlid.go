// Package gqlid maps GraphQL's ID scalar to ent's integer IDs, with an error
// a client can act on when an ID is not one of ours.
package gqlid

import (
	"fmt"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalID writes an ID as a GraphQL string.
func MarshalID(id int) graphql.Marshaler { return graphql.MarshalIntID(id) }

// UnmarshalID reads an ID given as a string or a number.
func UnmarshalID(v any) (int, error) {
	id, err := graphql.UnmarshalIntID(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not an ID: EstateFlow IDs are whole numbers such as \"17179869185\"", fmt.Sprint(v))
	}
	return id, nil
}
