package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestOperationNamesAreBounded: the first MaxLabelValues names are kept,
// later ones count as "other", unnamed operations as "anonymous", and
// over-long names as "other", so that clients cannot grow the series.
func TestOperationNamesAreBounded(t *testing.T) {
	m := New(Options{})
	obs := m.GraphQL()
	for i := range MaxLabelValues + 20 {
		obs.OperationDone("query", fmt.Sprintf("Op%d", i), time.Millisecond)
	}
	obs.OperationDone("query", "Op0", time.Millisecond) // a kept name stays kept
	obs.OperationDone("mutation", "", time.Millisecond)
	obs.OperationDone("query", strings.Repeat("x", maxLabelLen+1), time.Millisecond)

	if n := testutil.CollectAndCount(m.operations); n != MaxLabelValues+2 {
		t.Fatalf("%d series, want %d kept names, other and anonymous", n, MaxLabelValues+2)
	}
	cases := []struct {
		opType, name string
		want         uint64
	}{
		{"query", "Op0", 2},
		{"query", fmt.Sprintf("Op%d", MaxLabelValues-1), 1},
		{"query", OtherLabel, 21},
		{"mutation", AnonymousLabel, 1},
	}
	for _, c := range cases {
		if got := histogramCount(t, m, c.opType, c.name); got != c.want {
			t.Errorf("%s %s: count %d, want %d", c.opType, c.name, got, c.want)
		}
	}
}

func histogramCount(t *testing.T, m *Metrics, opType, name string) uint64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != Namespace+"_graphql_operation_duration_seconds" {
			continue
		}
		for _, s := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range s.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["type"] == opType && labels["operation"] == name {
				return s.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}
