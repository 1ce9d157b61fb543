package importer_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/importer"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/tenant"
)

// BenchmarkImportSacramento imports the 932 rows of the shared file into a
// new organization per iteration, on SQLite.
func BenchmarkImportSacramento(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "..", "shared", "data", "sacramento-sales.csv"))
	if err != nil {
		b.Skipf("shared data not available (%v): skipping", err)
	}
	b.Setenv(testdb.EnvURL, "")
	db := testdb.Open(b, database.Options{})
	eng := engine.New(db.Client, engine.Config{Dialect: db.Dialect})
	b.Cleanup(func() { _ = eng.Stop(context.Background()) })
	i := 0
	for b.Loop() {
		i++
		org, err := db.Client.Organization.Create().SetName("B").SetSlug(fmt.Sprintf("b%d", i)).Save(tenant.SystemContext(context.Background()))
		if err != nil {
			b.Fatal(err)
		}
		ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: org.ID})
		sum, err := importer.Import(ctx, eng, bytes.NewReader(data), importer.Options{})
		if err != nil || sum.Imported != 932 {
			b.Fatalf("import: %+v %v", sum, err)
		}
	}
}
