package engine

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestValidateGraph(t *testing.T) {
	tests := []struct {
		name       string
		nodes      []Node
		wantKey    string
		wantReason string
	}{
		{name: "empty graph"},
		{name: "chain", nodes: []Node{{Key: "a"}, {Key: "b", DependsOn: []string{"a"}}, {Key: "c", DependsOn: []string{"b"}}}},
		{name: "diamond", nodes: []Node{{Key: "a"}, {Key: "b", DependsOn: []string{"a"}}, {Key: "c", DependsOn: []string{"a"}}, {Key: "d", DependsOn: []string{"b", "c"}}}},
		{name: "empty key", nodes: []Node{{Key: "a"}, {Key: " "}}, wantKey: " ", wantReason: "must not be empty"},
		{name: "duplicate key", nodes: []Node{{Key: "a"}, {Key: "b"}, {Key: "a"}}, wantKey: "a", wantReason: "duplicate"},
		{name: "unknown dependency", nodes: []Node{{Key: "a"}, {Key: "b", DependsOn: []string{"zz"}}}, wantKey: "b", wantReason: `"zz"`},
		{name: "repeated dependency", nodes: []Node{{Key: "a"}, {Key: "b", DependsOn: []string{"a", "a"}}}, wantKey: "b", wantReason: "twice"},
		{name: "self loop", nodes: []Node{{Key: "a", DependsOn: []string{"a"}}}, wantKey: "a", wantReason: "a → a"},
		{name: "three cycle", nodes: []Node{{Key: "x"}, {Key: "a", DependsOn: []string{"c"}}, {Key: "b", DependsOn: []string{"a"}}, {Key: "c", DependsOn: []string{"b"}}}, wantKey: "a", wantReason: "cycle: a → c → b → a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateGraph(tt.nodes)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("ValidateGraph() = %v, want nil", err)
				}
				return
			}
			var ge *GraphError
			if !errors.As(err, &ge) {
				t.Fatalf("ValidateGraph() = %v, want a *GraphError", err)
			}
			if ge.Key != tt.wantKey || !strings.Contains(ge.Reason, tt.wantReason) {
				t.Fatalf("ValidateGraph() = key %q reason %q, want key %q and a reason containing %q", ge.Key, ge.Reason, tt.wantKey, tt.wantReason)
			}
			if tt.nodes[ge.Index].Key != ge.Key {
				t.Fatalf("Index %d points at %q, not %q", ge.Index, tt.nodes[ge.Index].Key, ge.Key)
			}
		})
	}
}

func ExampleValidateGraph() {
	err := ValidateGraph([]Node{
		{Key: "score"},
		{Key: "email", DependsOn: []string{"score", "follow-up"}},
		{Key: "follow-up", DependsOn: []string{"email"}},
	})
	fmt.Println(err)
	// Output: step "email": dependency cycle: email → follow-up → email
}
