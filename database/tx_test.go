package database_test

import (
	"context"
	"testing"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/ent/contact"
	"github.com/estateflow/estateflow/internal/testdb"
)

func TestClientOnTx(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		commit bool
	}{
		{"commit", true},
		{"rollback", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := testdb.Open(t, database.Options{})
			ctx, _ := newOrg(t, db.Client, "tx")
			tx, err := db.SQL.BeginTx(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()

			c, err := db.ClientOnTx(tx).Contact.Create().SetName("In the transaction").SetSource(contact.SourceREFERRAL).Save(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Other code sharing the transaction sees the row, as River's
			// job insert must.
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+contact.Table+" WHERE id = "+placeholder(db), c.ID).Scan(&n); err != nil || n != 1 {
				t.Fatalf("the row through the shared transaction: %d, %v", n, err)
			}
			// Outside it, nothing until the commit.
			if exists, err := db.Client.Contact.Query().Where(contact.ID(c.ID)).Exist(ctx); err != nil || exists {
				t.Fatalf("the uncommitted row outside the transaction: %v, %v", exists, err)
			}

			if tt.commit {
				err = tx.Commit()
			} else {
				err = tx.Rollback()
			}
			if err != nil {
				t.Fatal(err)
			}
			exists, err := db.Client.Contact.Query().Where(contact.ID(c.ID)).Exist(ctx)
			if err != nil || exists != tt.commit {
				t.Fatalf("row exists after %s: %v (%v), want %v", tt.name, exists, err, tt.commit)
			}
		})
	}
}
