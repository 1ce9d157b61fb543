package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/tenant"
)

// QueryLimits refuses, before anything runs, an operation that would cost
// the server too much:
//   - every connection must say how many items it wants (first or last, at
//     most MaxPage), as GitHub's API requires, which keeps every response
//     and every eager load behind it bounded;
//   - fields may nest at most MaxDepth deep;
//   - the operation's complexity may not exceed MaxComplexity. Each field
//     costs its weight plus its selections' cost; a connection counts its
//     selections once per item asked for (first × their cost). The weight is
//     declared next to the field in the schema, @cost(weight: N), so that a
//     resolver's cost is reviewed with the resolver; a field without it
//     weighs 1 (a struct field, or one eager-loaded row);
//   - fields marked @expensive (the CMA) may occur at most MaxExpensive
//     times, counting each alias and each item of the connections around
//     them: their weight alone would let 20 of them under MaxComplexity.
type QueryLimits struct {
	MaxPage       int
	MaxDepth      int
	MaxComplexity int
	MaxExpensive  int
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
	w := &limitWalker{limits: l, oc: oc, fragments: map[string]opCost{}}
	c, err := w.selection(oc.Operation.SelectionSet)
	// ExpensiveGate reads what the operation costs from here.
	oc.Stats.SetExtension(costStatsKey, c)
	switch {
	case err != nil:
		return err
	case l.MaxDepth > 0 && c.depth > l.MaxDepth:
		return codedError(errcode.DepthLimitExceeded, "", "the operation nests %d fields deep; the limit is %d", c.depth, l.MaxDepth)
	case l.MaxExpensive > 0 && c.expensive > l.MaxExpensive:
		return codedError(errcode.ExpensiveFieldLimitExceeded, c.firstExpensive,
			"the operation asks for expensive fields (such as cma) %d times; the limit is %d per operation", c.expensive, l.MaxExpensive)
	case l.MaxComplexity > 0 && c.cost > l.MaxComplexity:
		return codedError(errcode.ComplexityLimitExceeded, "", "the operation's complexity is %d; the limit is %d (a connection counts its fields once per item asked for)", c.cost, l.MaxComplexity)
	}
	return nil
}

const costStatsKey = "QueryLimits"

// opCost is what a selection costs: its complexity, its depth and how many
// expensive fields it resolves (the first one's path names the field at
// fault in a refusal).
type opCost struct {
	cost, depth, expensive int
	firstExpensive         string
}

func (c opCost) plus(o opCost) opCost {
	if c.firstExpensive == "" {
		c.firstExpensive = o.firstExpensive
	}
	return opCost{
		cost:           saturatingAdd(c.cost, o.cost),
		depth:          max(c.depth, o.depth),
		expensive:      saturatingAdd(c.expensive, o.expensive),
		firstExpensive: c.firstExpensive,
	}
}

// times is the cost of n copies, as a connection of n items has.
func (c opCost) times(n int) opCost {
	c.cost = saturatingMul(c.cost, n)
	c.expensive = saturatingMul(c.expensive, n)
	return c
}

type limitWalker struct {
	limits    QueryLimits
	oc        *graphql.OperationContext
	fragments map[string]opCost // memoized: nested spreads cannot blow up
}

// selection returns the cost of a selection set.
func (w *limitWalker) selection(set ast.SelectionSet) (opCost, *gqlerror.Error) {
	var total opCost
	for _, sel := range set {
		var c opCost
		var err *gqlerror.Error
		switch sel := sel.(type) {
		case *ast.Field:
			c, err = w.field(sel)
		case *ast.InlineFragment:
			c, err = w.selection(sel.SelectionSet)
		case *ast.FragmentSpread:
			if sel.Definition == nil {
				continue
			}
			fc, seen := w.fragments[sel.Name]
			if !seen {
				w.fragments[sel.Name] = opCost{} // a cycle (invalid anyway) costs nothing more
				fc, err = w.selection(sel.Definition.SelectionSet)
				w.fragments[sel.Name] = fc
			}
			c = fc
		}
		if err != nil {
			return opCost{}, err
		}
		total = total.plus(c)
	}
	return total, nil
}

func (w *limitWalker) field(f *ast.Field) (opCost, *gqlerror.Error) {
	if strings.HasPrefix(f.Name, "__") {
		// Introspection (GraphiQL nests __type.ofType nine deep) is governed
		// by the introspection switch, not by these limits.
		return opCost{}, nil
	}
	children, err := w.selection(f.SelectionSet)
	if err != nil {
		return opCost{}, err
	}
	if f.Definition != nil && f.Definition.Type != nil && strings.HasSuffix(f.Definition.Type.Name(), "Connection") {
		n, err := w.pageSize(f)
		if err != nil {
			return opCost{}, err
		}
		children = children.times(max(n, 1))
	}
	own := opCost{cost: weight(f.Definition), depth: children.depth + 1}
	if f.Definition != nil && f.Definition.Directives.ForName("expensive") != nil {
		own.expensive, own.firstExpensive = 1, f.Alias
	}
	c := own.plus(children)
	c.depth = children.depth + 1
	return c, nil
}

// weight is the field's @cost(weight:), or 1.
func weight(def *ast.FieldDefinition) int {
	if def == nil {
		return 1
	}
	d := def.Directives.ForName("cost")
	if d == nil {
		return 1
	}
	if a := d.Arguments.ForName("weight"); a != nil && a.Value != nil {
		if n, err := strconv.Atoi(a.Value.Raw); err == nil && n >= 0 {
			return n
		}
	}
	return 1
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

// ExpensiveGate keeps operations that ask for @expensive fields from
// starving everyone else: bounding them per operation bounds one request,
// not a flood of them.
//   - Each token runs one such operation at a time; the next ones wait
//     their turn, up to maxQueued, after which they are refused with
//     RATE_LIMITED.
//   - The server resolves at most maxAtOnce expensive fields at once. The
//     slot is taken per field, not per operation, because gqlgen resolves
//     a query's root fields concurrently: ten aliased CMAs in one operation
//     would otherwise take every core.
//
// Cheap fields never wait here, so another token's `{ viewer { role } }`
// keeps the cores the gate leaves free.
type ExpensiveGate struct {
	running   chan struct{} // one slot per expensive field being resolved
	maxQueued int

	mu     sync.Mutex
	tokens map[string]*tokenTurn
}

// tokenTurn is one token's place at the gate.
type tokenTurn struct {
	slot    chan struct{} // held by the token's running operation
	waiting int           // operations holding or waiting for slot
}

// NewExpensiveGate returns a gate that resolves maxAtOnce expensive fields
// at once (at least 1) and lets maxQueued of a token's operations wait.
func NewExpensiveGate(maxAtOnce, maxQueued int) *ExpensiveGate {
	return &ExpensiveGate{running: make(chan struct{}, max(maxAtOnce, 1)), maxQueued: maxQueued, tokens: map[string]*tokenTurn{}}
}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
	graphql.FieldInterceptor
} = (*ExpensiveGate)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (*ExpensiveGate) ExtensionName() string { return "ExpensiveGate" }

// Validate implements graphql.HandlerExtension.
func (*ExpensiveGate) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse implements graphql.ResponseInterceptor: a query or
// mutation executes inside the first (and only) call, which waits for the
// token's turn.
func (g *ExpensiveGate) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	oc := graphql.GetOperationContext(ctx)
	c, _ := oc.Stats.GetExtension(costStatsKey).(opCost)
	if c.expensive == 0 || oc.Operation == nil || oc.Operation.Operation == ast.Subscription {
		return next(ctx)
	}
	leave, err := g.takeTurn(ctx)
	if err != nil {
		return &graphql.Response{Errors: gqlerror.List{err}}
	}
	defer leave()
	return next(ctx)
}

// InterceptField implements graphql.FieldInterceptor: an @expensive field
// resolves once a slot is free.
func (g *ExpensiveGate) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Definition == nil || fc.Field.Definition.Directives.ForName("expensive") == nil {
		return next(ctx)
	}
	select {
	case g.running <- struct{}{}:
	case <-ctx.Done():
		return nil, codedError(errcode.RateLimited, "", "the request ended while waiting to resolve %s", fc.Field.Alias)
	}
	defer func() { <-g.running }()
	return next(ctx)
}

// takeTurn waits for the token's turn.
func (g *ExpensiveGate) takeTurn(ctx context.Context) (leave func(), _ *gqlerror.Error) {
	key := "anonymous"
	if v, ok := tenant.FromContext(ctx); ok {
		key = fmt.Sprintf("token %d, user %d, org %d", v.TokenID, v.UserID, v.OrgID)
	}
	g.mu.Lock()
	turn := g.tokens[key]
	if turn == nil {
		turn = &tokenTurn{slot: make(chan struct{}, 1)}
		g.tokens[key] = turn
	}
	if turn.waiting > g.maxQueued {
		g.mu.Unlock()
		return nil, codedError(errcode.RateLimited, "",
			"this token already has %d operations with expensive fields (such as cma) running or waiting; send the next when one has answered", turn.waiting)
	}
	turn.waiting++
	g.mu.Unlock()
	gone := func() {
		g.mu.Lock()
		if turn.waiting--; turn.waiting == 0 {
			delete(g.tokens, key)
		}
		g.mu.Unlock()
	}
	select {
	case turn.slot <- struct{}{}:
	case <-ctx.Done():
		gone()
		return nil, codedError(errcode.RateLimited, "", "the request ended while waiting for its turn to run expensive fields")
	}
	return func() {
		<-turn.slot
		gone()
	}, nil
}
