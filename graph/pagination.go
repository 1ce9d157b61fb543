package graph

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// PageLimit refuses, before anything runs, an operation that asks a
// connection for more than Max items or forgets to say how many it wants.
// Requiring first or last on every connection (as GitHub's API does) keeps
// every response, and every eager load behind it, bounded.
type PageLimit struct {
	Max int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = PageLimit{}

// ExtensionName implements graphql.HandlerExtension.
func (PageLimit) ExtensionName() string { return "PageLimit" }

// Validate implements graphql.HandlerExtension.
func (PageLimit) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (l PageLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	return l.check(oc, oc.Operation.SelectionSet, map[string]bool{})
}

func (l PageLimit) check(oc *graphql.OperationContext, set ast.SelectionSet, seenFragments map[string]bool) *gqlerror.Error {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			if err := l.checkField(oc, sel); err != nil {
				return err
			}
			if err := l.check(oc, sel.SelectionSet, seenFragments); err != nil {
				return err
			}
		case *ast.InlineFragment:
			if err := l.check(oc, sel.SelectionSet, seenFragments); err != nil {
				return err
			}
		case *ast.FragmentSpread:
			if seenFragments[sel.Name] || sel.Definition == nil {
				continue
			}
			seenFragments[sel.Name] = true
			if err := l.check(oc, sel.Definition.SelectionSet, seenFragments); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l PageLimit) checkField(oc *graphql.OperationContext, f *ast.Field) *gqlerror.Error {
	if f.Definition == nil || f.Definition.Type == nil || !strings.HasSuffix(f.Definition.Type.Name(), "Connection") {
		return nil
	}
	args := f.ArgumentMap(oc.Variables)
	first, hasFirst := intArg(args, "first")
	last, hasLast := intArg(args, "last")
	switch {
	case !hasFirst && !hasLast:
		return badInput(f.Alias+".first", "%s: provide first or last (at most %d) to page through the connection", f.Alias, l.Max)
	case hasFirst && (first < 0 || first > int64(l.Max)):
		return badInput(f.Alias+".first", "%s: first must be between 0 and %d, got %d", f.Alias, l.Max, first)
	case hasLast && (last < 0 || last > int64(l.Max)):
		return badInput(f.Alias+".last", "%s: last must be between 0 and %d, got %d", f.Alias, l.Max, last)
	}
	return nil
}

func intArg(args map[string]any, name string) (int64, bool) {
	switch v := args[name].(type) {
	case int64:
		return v, true
	case int:
		return int64(v), true
	case float64:
		return int64(v), true
	case json.Number:
		n, err := v.Int64()
		return n, err == nil
	default:
		return 0, false
	}
}
