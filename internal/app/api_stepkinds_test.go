package app

import (
	"slices"
	"testing"

	"github.com/estateflow/estateflow/modules"
)

// TestStepKindsQuery reads the module registry over GraphQL, as the
// console's launcher and builder do, and checks it against modules.All().
func TestStepKindsQuery(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	type param struct {
		Name, Type, Default, Description string
		Min, Max                         *float64
	}
	var got struct {
		StepKinds []struct {
			Kind, Module, Subject string
			RequiredUpstreamKinds []string
			Params                []param
		} `json:"stepKinds"`
	}
	api.do(`{ stepKinds { kind module subject requiredUpstreamKinds params { name type default min max description } } }`, nil).ok(t, &got)

	byKind := map[string]int{}
	for i, k := range got.StepKinds {
		byKind[k.Kind] = i
	}
	n := 0
	for _, m := range modules.All() {
		for _, k := range m.Kinds {
			n++
			i, ok := byKind[string(k.Kind)]
			if !ok {
				t.Errorf("%s missing from stepKinds", k.Kind)
				continue
			}
			info := got.StepKinds[i]
			if info.Module != m.Name || info.Subject != string(k.Subject) {
				t.Errorf("%s: module %q subject %q, want %q %q", k.Kind, info.Module, info.Subject, m.Name, k.Subject)
			}
			var wantReq []string
			for _, r := range k.Requires {
				wantReq = append(wantReq, string(r))
			}
			if !slices.Equal(info.RequiredUpstreamKinds, wantReq) && len(wantReq)+len(info.RequiredUpstreamKinds) > 0 {
				t.Errorf("%s requires %v, want %v", k.Kind, info.RequiredUpstreamKinds, wantReq)
			}
			if len(info.Params) != len(k.Params) {
				t.Errorf("%s: %d params, want %d", k.Kind, len(info.Params), len(k.Params))
				continue
			}
			for j, p := range k.Params {
				g := info.Params[j]
				if g.Name != p.Name || g.Type != string(p.Type) || g.Default != p.Default || g.Description != p.Describe() ||
					(g.Min == nil) != (p.Min == nil) || (g.Max == nil) != (p.Max == nil) ||
					(p.Min != nil && *g.Min != *p.Min) || (p.Max != nil && *g.Max != *p.Max) {
					t.Errorf("%s param %d: %+v, want %+v", k.Kind, j, g, p)
				}
			}
		}
	}
	if len(got.StepKinds) != n {
		t.Errorf("%d step kinds, want %d", len(got.StepKinds), n)
	}
	// Facts the console relies on, stated independently of the registry.
	strategy := got.StepKinds[byKind["LISTING_STRATEGY"]]
	if !slices.Contains(strategy.RequiredUpstreamKinds, "CMA_ANALYSIS") || strategy.Subject != "PROPERTY" {
		t.Errorf("LISTING_STRATEGY: %+v, want PROPERTY requiring CMA_ANALYSIS", strategy)
	}
	if len(strategy.Params) != 1 || strategy.Params[0] != (param{Name: "listingStartDate", Type: "date", Default: "today", Description: "a date (YYYY-MM-DD)"}) {
		t.Errorf("LISTING_STRATEGY params %+v", strategy.Params)
	}
}
