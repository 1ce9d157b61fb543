package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema/field"
)

// CountedBy marks a to-many edge whose rows the database counts into a
// field of the node (database/counters.go keeps it, by trigger, in the
// transaction that inserts or deletes a row). entgql's collection then
// answers an unfiltered totalCount of the edge from that field
// (ent/template/load_total.tmpl) instead of counting the rows, which grow
// with history: a page of properties with each one's run count reads 50
// stored numbers, not every run of the page.
type CountedBy struct {
	// Field is the node's field that holds the count.
	Field string
}

// Name of the annotation, as templates look it up.
func (CountedBy) Name() string { return "CountedBy" }

// runCountField is the field that CountedBy{Field: "run_count"} names: the
// number of runs that point at the row. Only the database writes it.
func runCountField() ent.Field {
	return field.Int("run_count").
		Default(0).
		NonNegative().
		Immutable().
		Comment("How many runs point at this row; the database keeps it (database/counters.go).").
		Annotations(entgql.Skip(entgql.SkipAll))
}
