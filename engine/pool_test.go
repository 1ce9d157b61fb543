package engine

import (
	"slices"
	"testing"
)

// TestOrgQueuesTakeOrganizationsInTurn: a bulk of one organization's
// steps does not make another's wait behind all of it; within an
// organization steps keep their order.
func TestOrgQueuesTakeOrganizationsInTurn(t *testing.T) {
	cases := []struct {
		name   string
		pushed [][2]int // (org, step) in submission order
		want   []int    // steps in the order they are taken
	}{
		{"one organization is FIFO", [][2]int{{1, 10}, {1, 11}, {1, 12}}, []int{10, 11, 12}},
		{"a single step after a bulk goes second",
			[][2]int{{1, 10}, {1, 11}, {1, 12}, {1, 13}, {2, 20}}, []int{10, 20, 11, 12, 13}},
		{"three organizations alternate",
			[][2]int{{1, 10}, {1, 11}, {2, 20}, {2, 21}, {3, 30}}, []int{10, 20, 30, 11, 21}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := newOrgQueues()
			for _, p := range c.pushed {
				q.push(stepRef{orgID: p[0], stepRunID: p[1]})
			}
			var got []int
			for q.len() > 0 {
				got = append(got, q.pop().stepRunID)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("taken %v, want %v", got, c.want)
			}
		})
	}
}

// TestOrgQueuesInterleavedPushes: an organization that empties its queue
// and submits again joins the back of the turn.
func TestOrgQueuesInterleavedPushes(t *testing.T) {
	q := newOrgQueues()
	q.push(stepRef{orgID: 1, stepRunID: 10})
	q.push(stepRef{orgID: 2, stepRunID: 20})
	q.push(stepRef{orgID: 2, stepRunID: 21})
	if got := q.pop().stepRunID; got != 10 {
		t.Fatalf("first %d, want 10", got)
	}
	q.push(stepRef{orgID: 1, stepRunID: 11})
	var got []int
	for q.len() > 0 {
		got = append(got, q.pop().stepRunID)
	}
	if want := []int{20, 11, 21}; !slices.Equal(got, want) {
		t.Fatalf("taken %v, want %v", got, want)
	}
}
