package analytics_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/importer"
	"github.com/estateflow/estateflow/internal/testdb"
	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/tenant"
)

// TestBacktestSacramento values every sale of the shared Sacramento file
// with the others as comps and must beat the simple baseline (median price
// per sq ft of the 6 nearest same-type sales: MdAPE ≈ 16.5%).
func TestBacktestSacramento(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "data", "sacramento-sales.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("shared data not available (%v): skipping the backtest", err)
	}
	defer f.Close()
	db := testdb.Open(t, database.Options{})
	org, err := db.Client.Organization.Create().SetName("Backtest").SetSlug("backtest").Save(tenant.SystemContext(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := tenant.NewContext(context.Background(), tenant.Viewer{OrgID: org.ID})
	if _, err := importer.Import(ctx, db.Client, f, importer.Options{}); err != nil {
		t.Fatal(err)
	}
	props, err := db.Client.Property.Query().Where(property.StatusEQ(property.StatusSOLD)).All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sales := make([]analytics.Home, len(props))
	for i, p := range props {
		sales[i] = analytics.HomeOf(p)
	}
	res, err := analytics.Backtest(ctx, analytics.EntSource{Client: db.Client}, sales, analytics.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("backtest: %+v", res)
	if res.Coverage < 0.95 {
		t.Errorf("coverage %.3f, want at least 0.95", res.Coverage)
	}
	if res.MdAPE >= 0.165 {
		t.Errorf("MdAPE %.4f does not beat the baseline's 0.165", res.MdAPE)
	}
}
