package database

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/tenant"
)

func TestHasEscapedNUL(t *testing.T) {
	tests := []struct {
		json string
		want bool
	}{
		{`{"a":"b"}`, false},
		{`{"a":"\u0000"}`, true},
		{`{"x\u0000":1}`, true},
		{`["ok","a\u0000b"]`, true},
		{`{"a":"\\u0000"}`, false},      // an escaped backslash, then the text u0000
		{`{"a":"\\\u0000"}`, true},      // an escaped backslash, then NUL
		{`{"a":"\u00000"}`, true},       // NUL, then the digit 0
		{`{"a":"\u0001\u000a"}`, false}, // other control characters
		{`{"a":"\u000`, false},          // cut short
		{`"\`, false},
	}
	for _, tc := range tests {
		if got := hasEscapedNUL([]byte(tc.json)); got != tc.want {
			t.Errorf("hasEscapedNUL(%s) = %v, want %v", tc.json, got, tc.want)
		}
	}
}

// TestTransactionClientsShareTheHookCache: the clients ClientOnTx makes,
// one per transaction, refuse an appended NUL as the main client does, and
// keep what the write hook learns of a mutation type in the database's
// cache, so that the next transaction does not find it again by
// reflection.
func TestTransactionClientsShareTheHookCache(t *testing.T) {
	ctx := tenant.SystemContext(context.Background())
	db, err := Open(ctx, filepath.Join(t.TempDir(), "hooks.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	org, err := db.Client.Organization.Create().SetName("Hooks Realty").SetSlug("hooks").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	contact, err := db.Client.Contact.Create().SetOrganizationID(org.ID).SetName("Ana").Save(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mutation := reflect.TypeOf(&ent.ContactMutation{})
	for i := range 2 {
		tx, err := db.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.ClientOnTx(tx).Contact.UpdateOneID(contact.ID).AppendPreferredAreas([]string{"Round\x00Rock"}).Exec(ctx)
		_ = tx.Rollback()
		var bad *InvalidTextError
		if !errors.As(err, &bad) || bad.Field != "preferred_areas" {
			t.Fatalf("transaction %d: appending NUL gave %v, want an InvalidTextError on preferred_areas", i, err)
		}
		if _, ok := db.appends.byType.Load(mutation); !ok {
			t.Fatalf("transaction %d: the database's hook cache does not know %s: the transaction's client kept its own", i, mutation)
		}
	}
}
