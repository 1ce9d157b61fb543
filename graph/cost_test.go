package graph_test

import (
	"strings"
	"testing"

	"github.com/estateflow/estateflow/graph/generated"
)

// TestEveryResolverDeclaresItsCost: each mutation, and each query field that
// is not entgql's (bounded connections and lookups by ID, which the
// complexity rule prices by page size), declares its weight next to the
// field with @cost, so that a new resolver cannot slip in at the default
// weight of 1. The CMA weighs about a page of 100 properties and is
// bounded per operation.
func TestEveryResolverDeclaresItsCost(t *testing.T) {
	t.Parallel()
	schema := generated.NewExecutableSchema(generated.Config{}).Schema()
	for _, f := range schema.Mutation.Fields {
		if f.Directives.ForName("cost") == nil {
			t.Errorf("Mutation.%s declares no @cost(weight:)", f.Name)
		}
	}
	// stepKinds reads the in-memory module registry: no database, a few
	// dozen objects.
	cheapQueries := map[string]bool{"viewer": true, "node": true, "nodes": true, "stepKinds": true}
	for _, f := range schema.Query.Fields {
		if strings.HasPrefix(f.Name, "__") || cheapQueries[f.Name] || strings.HasSuffix(f.Type.Name(), "Connection") {
			continue
		}
		if f.Directives.ForName("cost") == nil {
			t.Errorf("Query.%s declares no @cost(weight:)", f.Name)
		}
	}
	cma := schema.Query.Fields.ForName("cma")
	if cma == nil || cma.Directives.ForName("expensive") == nil {
		t.Fatal("Query.cma is not @expensive")
	}
	if w := cma.Directives.ForName("cost").Arguments.ForName("weight").Value.Raw; w != "1000" {
		t.Errorf("Query.cma weighs %s, want 1000: about a page of 100 properties with ten fields", w)
	}
}
