package database_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/contact"
	"github.com/estateflow/estateflow/ent/schema"
	"github.com/estateflow/estateflow/internal/testdb"
)

// Issue 12, items 5 and 13: every writer, not only the API, is refused NaN
// and ±Infinity in a float (PostgreSQL stored them and no read could
// return the row; SQLite stored NaN as NULL) and invalid UTF-8 in text
// (PostgreSQL refuses it with a driver error; SQLite stored it).
func TestWritesRefuseNonFiniteFloatsAndInvalidUTF8(t *testing.T) {
	t.Parallel()
	db := testdb.Open(t, database.Options{})
	ctx, _ := newOrg(t, db.Client, "values")
	newProperty := func() *ent.PropertyCreate {
		return db.Client.Property.Create().SetCity("Austin").SetLatitude(30.2).SetLongitude(-97.7)
	}
	existing, err := newProperty().SetBaths(2).Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		write     func(ctx context.Context) error
		wantField string
	}{
		{"NaN latitude", func(ctx context.Context) error { return newProperty().SetLatitude(math.NaN()).Exec(ctx) }, "latitude"},
		{"+Inf longitude", func(ctx context.Context) error { return newProperty().SetLongitude(math.Inf(1)).Exec(ctx) }, "longitude"},
		{"-Inf baths", func(ctx context.Context) error { return newProperty().SetBaths(math.Inf(-1)).Exec(ctx) }, "baths"},
		{"update: NaN baths", func(ctx context.Context) error {
			return db.Client.Property.UpdateOne(existing).SetBaths(math.NaN()).Exec(ctx)
		}, "baths"},
		{"update: added NaN", func(ctx context.Context) error {
			return db.Client.Property.UpdateOne(existing).AddBaths(math.NaN()).Exec(ctx)
		}, "baths"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.write(ctx)
			var fieldErr *schema.FieldError
			var validation *ent.ValidationError
			switch {
			case errors.As(err, &fieldErr):
				if fieldErr.Field != tt.wantField {
					t.Errorf("field %q, want %q", fieldErr.Field, tt.wantField)
				}
			case errors.As(err, &validation):
				if validation.Name != tt.wantField {
					t.Errorf("field %q, want %q", validation.Name, tt.wantField)
				}
			default:
				t.Fatalf("write: %v, want a refusal of %s", err, tt.wantField)
			}
		})
	}
	if n := db.Client.Property.Query().CountX(ctx); n != 1 {
		t.Fatalf("%d properties, want 1", n)
	}
	if got := db.Client.Property.GetX(ctx, existing.ID); got.Baths == nil || *got.Baths != 2 {
		t.Fatalf("baths changed: %v", got.Baths)
	}

	for _, text := range []string{"Ana \xff", "Ana \xed\xa0\x80" /* a surrogate, UTF-8 encoded */, "Ana \xc3"} {
		err := db.Client.Contact.Create().SetName(text).SetSource(contact.SourceREFERRAL).Exec(ctx)
		var invalid *database.InvalidTextError
		if !errors.As(err, &invalid) || invalid.Field != "name" || !invalid.InvalidUTF8 {
			t.Errorf("name %q: %v, want an InvalidTextError for invalid UTF-8", text, err)
		}
		err = db.Client.Contact.Create().SetName("Ana").SetSource(contact.SourceREFERRAL).SetPreferredAreas([]string{"ok", text}).Exec(ctx)
		if !errors.As(err, &invalid) || invalid.Field != "preferred_areas" {
			t.Errorf("preferred area %q: %v, want an InvalidTextError", text, err)
		}
	}
	if n := db.Client.Contact.Query().CountX(ctx); n != 0 {
		t.Fatalf("%d contacts were written", n)
	}
}
