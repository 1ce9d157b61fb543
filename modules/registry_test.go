package modules_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/estateflow/estateflow/ent/schema/stepkind"
	"github.com/estateflow/estateflow/modules"
	"github.com/estateflow/estateflow/modules/spec"
)

// TestRegistryIsConsistent checks what the engine, the API and package
// validation rely on: each kind is implemented once, by a complete
// description.
func TestRegistryIsConsistent(t *testing.T) {
	registered := map[stepkind.Kind]int{}
	subjectOf := map[stepkind.Kind]stepkind.Subject{}
	paramByName := map[string]spec.Param{}
	for _, m := range modules.All() {
		if m.Name == "" || len(m.Kinds) == 0 {
			t.Errorf("module %q: a module has a name and at least one kind", m.Name)
		}
		for _, k := range m.Kinds {
			registered[k.Kind]++
			subjectOf[k.Kind] = k.Subject
			if !k.Kind.Valid() {
				t.Errorf("%s (module %s) is not a stepkind value: ent and GraphQL would refuse it", k.Kind, m.Name)
			}
			switch {
			case k.AnySubject && k.Subject != "":
				t.Errorf("%s works on any subject but names %q", k.Kind, k.Subject)
			case !k.AnySubject && !slices.Contains(stepkind.Subject("").Values(), string(k.Subject)):
				t.Errorf("%s: unknown subject %q", k.Kind, k.Subject)
			}
			if k.NewExecutor == nil || k.NewExecutor(spec.Deps{Now: time.Now}) == nil {
				t.Errorf("%s: no executor", k.Kind)
			}
			checkOutput(t, k)
			seen := map[string]bool{}
			for _, p := range k.Params {
				if p.Name == "" || seen[p.Name] {
					t.Errorf("%s: parameter %q is unnamed or declared twice", k.Kind, p.Name)
				}
				seen[p.Name] = true
				switch p.Type {
				case spec.Number, spec.Integer, spec.Date, spec.DateTime:
				default:
					t.Errorf("%s: parameter %s has no known type (%q)", k.Kind, p.Name, p.Type)
				}
				if (p.Min != nil || p.Max != nil) && p.Type != spec.Number && p.Type != spec.Integer {
					t.Errorf("%s: parameter %s bounds a %s", k.Kind, p.Name, p.Type)
				}
				if p.Default == "" {
					t.Errorf("%s: parameter %s does not say what its absence means", k.Kind, p.Name)
				}
				// One name means one thing across a package's kinds.
				if other, ok := paramByName[p.Name]; ok && !reflect.DeepEqual(other, p) {
					t.Errorf("parameter %s is declared differently by two kinds: %+v and %+v", p.Name, other, p)
				}
				paramByName[p.Name] = p
			}
		}
	}
	for _, v := range stepkind.Kind("").Values() {
		if n := registered[stepkind.Kind(v)]; n != 1 {
			t.Errorf("%s is registered %d times, want once", v, n)
		}
	}
	for _, m := range modules.All() {
		for _, k := range m.Kinds {
			for _, need := range k.Requires {
				s, ok := subjectOf[need]
				switch {
				case !ok:
					t.Errorf("%s requires %s, which no module implements", k.Kind, need)
				case s != k.Subject:
					t.Errorf("%s works on a %s but requires %s, which works on a %s: no package could hold both", k.Kind, k.Subject, need, s)
				case need == k.Kind:
					t.Errorf("%s requires itself", k.Kind)
				}
			}
		}
	}
}

// checkOutput decodes a stored output into the kind's typed output, as
// StepRun.output does, and checks that each call gives a fresh value.
func checkOutput(t *testing.T, k spec.StepKind) {
	t.Helper()
	if k.NewOutput == nil {
		t.Errorf("%s: no output constructor", k.Kind)
		return
	}
	a, b := k.NewOutput(), k.NewOutput()
	if a == nil || reflect.TypeOf(a).Kind() != reflect.Pointer {
		t.Errorf("%s: the output constructor must return a pointer to decode into, got %T", k.Kind, a)
		return
	}
	if a == b {
		t.Errorf("%s: the output constructor returns a shared value", k.Kind)
	}
	stored, err := json.Marshal(a) // a zero output, as the engine would store it
	if err != nil {
		t.Fatalf("%s: %v", k.Kind, err)
	}
	var asMap map[string]any
	if err := json.Unmarshal(stored, &asMap); err != nil {
		t.Errorf("%s: the output is not a JSON object: %s", k.Kind, stored)
	}
	if err := json.Unmarshal(stored, b); err != nil {
		t.Errorf("%s: a stored output does not decode into %T: %v", k.Kind, b, err)
	}
}

func TestFind(t *testing.T) {
	k, ok := modules.Find(stepkind.MarketingCampaign)
	if !ok || k.Subject != stepkind.SubjectProperty || !slices.Equal(k.Requires, []stepkind.Kind{stepkind.ListingStrategy}) {
		t.Fatalf("Find(MARKETING_CAMPAIGN) = %+v, %v", k, ok)
	}
	if _, ok := modules.Find("TELEPORT"); ok {
		t.Fatal("Find found a kind no module implements")
	}
}
