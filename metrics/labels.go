package metrics

import "sync"

// Label values for what a bounded label does not keep.
const (
	// OtherLabel replaces values beyond the first MaxLabelValues.
	OtherLabel = "other"
	// AnonymousLabel names GraphQL operations sent without a name.
	AnonymousLabel = "anonymous"
	// UnknownLabel names a package whose key could not be read.
	UnknownLabel = "unknown"
)

// MaxLabelValues is how many distinct values a user-given label keeps.
const MaxLabelValues = 100

// maxLabelLen bounds one value's length: longer ones count as "other".
const maxLabelLen = 64

// boundedLabel keeps the first max distinct values it is given and maps
// every later one to OtherLabel, so that a label's cardinality, and the
// memory of its series, stays bounded whatever clients send.
type boundedLabel struct {
	max int

	mu   sync.Mutex
	seen map[string]struct{}
}

func newBoundedLabel(max int) *boundedLabel {
	return &boundedLabel{max: max, seen: map[string]struct{}{}}
}

// value returns v if it is kept, OtherLabel otherwise.
func (b *boundedLabel) value(v string) string {
	if len(v) > maxLabelLen {
		return OtherLabel
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.seen[v]; ok {
		return v
	}
	if len(b.seen) >= b.max {
		return OtherLabel
	}
	b.seen[v] = struct{}{}
	return v
}
