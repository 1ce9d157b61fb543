package graph

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/estateflow/estateflow/internal/errcode"
)

// QueryLimits refuses, before anything runs, an operation that would cost
// the server too much:
//   - every connection must say how many items it wants (first or last, at
//     most MaxPage), as GitHub's API requires, which keeps every response
//     and every eager load behind it bounded;
//   - fields may nest at most MaxDepth deep;
//   - the operation's complexity, where each field costs 1 plus its
//     children and a connection's children count once per item asked for
//     (first × child cost), may not exceed MaxComplexity.
type QueryLimits struct {
	MaxPage       int
	MaxDepth      int
	MaxComplexity int
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = QueryLimits{}

// ExtensionName implements graphql.HandlerExtension.
func (QueryLimits) ExtensionName() string { return "QueryLimits" }

// Validate implements graphql.HandlerExtension.
func (QueryLimits) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (l QueryLimits) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	w := &limitWalker{limits: l, oc: oc, fragments: map[string]fragmentCost{}}
	cost, depth, err := w.selection(oc.Operation.SelectionSet)
	switch {
	case err != nil:
		return err
	case l.MaxDepth > 0 && depth > l.MaxDepth:
		return codedError(errcode.DepthLimitExceeded, "", "the operation nests %d fields deep; the limit is %d", depth, l.MaxDepth)
	case l.MaxComplexity > 0 && cost > l.MaxComplexity:
		return codedError(errcode.ComplexityLimitExceeded, "", "the operation's complexity is %d; the limit is %d (a connection counts its fields once per item asked for)", cost, l.MaxComplexity)
	}
	return nil
}

type fragmentCost struct{ cost, depth int }

type limitWalker struct {
	limits    QueryLimits
	oc        *graphql.OperationContext
	fragments map[string]fragmentCost // memoized: nested spreads cannot blow up
}

// selection returns the cost and the depth of a selection set.
func (w *limitWalker) selection(set ast.SelectionSet) (cost, depth int, err *gqlerror.Error) {
	for _, sel := range set {
		var c, d int
		switch sel := sel.(type) {
		case *ast.Field:
			c, d, err = w.field(sel)
		case *ast.InlineFragment:
			c, d, err = w.selection(sel.SelectionSet)
		case *ast.FragmentSpread:
			if sel.Definition == nil {
				continue
			}
			fc, seen := w.fragments[sel.Name]
			if !seen {
				w.fragments[sel.Name] = fragmentCost{} // a cycle (invalid anyway) costs nothing more
				fc.cost, fc.depth, err = w.selection(sel.Definition.SelectionSet)
				w.fragments[sel.Name] = fc
			}
			c, d = fc.cost, fc.depth
		}
		if err != nil {
			return 0, 0, err
		}
		cost = saturatingAdd(cost, c)
		depth = max(depth, d)
	}
	return cost, depth, nil
}

func (w *limitWalker) field(f *ast.Field) (cost, depth int, err *gqlerror.Error) {
	if strings.HasPrefix(f.Name, "__") {
		// Introspection (GraphiQL nests __type.ofType nine deep) is governed
		// by the introspection switch, not by these limits.
		return 0, 0, nil
	}
	childCost, childDepth, err := w.selection(f.SelectionSet)
	if err != nil {
		return 0, 0, err
	}
	if f.Definition != nil && f.Definition.Type != nil && strings.HasSuffix(f.Definition.Type.Name(), "Connection") {
		n, err := w.pageSize(f)
		if err != nil {
			return 0, 0, err
		}
		childCost = saturatingMul(childCost, max(n, 1))
	}
	return saturatingAdd(1, childCost), childDepth + 1, nil
}

// pageSize checks a connection's first or last and returns it.
func (w *limitWalker) pageSize(f *ast.Field) (int, *gqlerror.Error) {
	args := f.ArgumentMap(w.oc.Variables)
	first, hasFirst := intArg(args, "first")
	last, hasLast := intArg(args, "last")
	limit := int64(w.limits.MaxPage)
	switch {
	case !hasFirst && !hasLast:
		return 0, badInput(f.Alias+".first", "%s: provide first or last (at most %d) to page through the connection", f.Alias, limit)
	case hasFirst && hasLast:
		return 0, badInput(f.Alias+".last", "%s: provide first or last, not both", f.Alias)
	case hasFirst && (first < 0 || first > limit):
		return 0, badInput(f.Alias+".first", "%s: first must be between 0 and %d, got %d", f.Alias, limit, first)
	case hasLast && (last < 0 || last > limit):
		return 0, badInput(f.Alias+".last", "%s: last must be between 0 and %d, got %d", f.Alias, limit, last)
	}
	return int(max(first, last)), nil
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

const costCap = 1 << 40

func saturatingAdd(a, b int) int { return min(a+b, costCap) }

func saturatingMul(a, b int) int {
	if a != 0 && b > costCap/a {
		return costCap
	}
	return min(a*b, costCap)
}
