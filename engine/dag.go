package engine

import (
	"fmt"
	"strings"
)

// Node is one step of a workflow graph, as far as ordering is concerned.
type Node struct {
	Key       string
	DependsOn []string
}

// GraphError says which step makes a workflow graph invalid, and why.
type GraphError struct {
	// Index is the position of the offending step in the list given to
	// ValidateGraph.
	Index  int
	Key    string
	Reason string
}

func (e *GraphError) Error() string {
	return fmt.Sprintf("step %q: %s", e.Key, e.Reason)
}

// ValidateGraph checks that nodes form a DAG: keys are non-empty and unique,
// every dependency names a node, no node depends on itself twice over, and
// there is no cycle. It reports the first problem found, in node order, so
// that the same input always gives the same error.
func ValidateGraph(nodes []Node) error {
	index := make(map[string]int, len(nodes))
	for i, n := range nodes {
		if strings.TrimSpace(n.Key) == "" {
			return &GraphError{Index: i, Key: n.Key, Reason: "key must not be empty"}
		}
		if _, dup := index[n.Key]; dup {
			return &GraphError{Index: i, Key: n.Key, Reason: "duplicate step key"}
		}
		index[n.Key] = i
	}
	for i, n := range nodes {
		seen := make(map[string]bool, len(n.DependsOn))
		for _, dep := range n.DependsOn {
			if _, ok := index[dep]; !ok {
				return &GraphError{Index: i, Key: n.Key, Reason: fmt.Sprintf("dependsOn names %q, which is not a step of this package", dep)}
			}
			if seen[dep] {
				return &GraphError{Index: i, Key: n.Key, Reason: fmt.Sprintf("dependsOn names %q twice", dep)}
			}
			seen[dep] = true
		}
	}
	if cycle := findCycle(nodes, index); cycle != nil {
		first := cycle[0]
		path := make([]string, 0, len(cycle)+1)
		for _, i := range cycle {
			path = append(path, nodes[i].Key)
		}
		path = append(path, nodes[first].Key)
		return &GraphError{Index: first, Key: nodes[first].Key, Reason: "dependency cycle: " + strings.Join(path, " → ")}
	}
	return nil
}

// findCycle returns the indexes of the nodes on a cycle, starting with the
// lowest-indexed node from which a cycle is reachable, or nil.
func findCycle(nodes []Node, index map[string]int) []int {
	const (
		unvisited = iota
		onStack
		done
	)
	state := make([]int, len(nodes))
	var stack []int
	var visit func(i int) []int
	visit = func(i int) []int {
		state[i] = onStack
		stack = append(stack, i)
		for _, dep := range nodes[i].DependsOn {
			j := index[dep]
			switch state[j] {
			case onStack:
				for k, s := range stack {
					if s == j {
						return append([]int(nil), stack[k:]...)
					}
				}
			case unvisited:
				if c := visit(j); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
		return nil
	}
	for i := range nodes {
		if state[i] == unvisited {
			if c := visit(i); c != nil {
				return c
			}
		}
	}
	return nil
}
