package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/organization"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/importer"
	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/seed"
	"github.com/estateflow/estateflow/tenant"
)

// CMA implements `estateflow cma backtest (--csv FILE | --demo) [--json]`
// and `estateflow cma calibrate [--org SLUG] [--sales N]`.
func CMA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "cma backtest (--csv FILE | --demo) [--json] | cma calibrate [--org SLUG] [--sales N]"
	c := newCommandLine("cma", usage,
		"backtest values every sale in FILE (or in the generated demo data) from the others, in a scratch database, and prints the errors; "+
			"calibrate backtests an organization's latest sales and stores the errors that draw its CMA ranges and grades.", stderr, os.LookupEnv)
	c.databaseFlags()
	csvPath := c.fs.String("csv", "", "backtest: the sales file to value")
	demo := c.fs.Bool("demo", false, "backtest: value the generated demo data's sales instead of a file")
	asJSON := c.fs.Bool("json", false, "print one JSON object")
	orgSlug := c.fs.String("org", seed.DemoOrgSlug, "calibrate: slug of the organization to calibrate")
	maxSales := c.fs.Int("sales", 600, "calibrate: how many of the latest sales to backtest")
	args, err := c.parse(args)
	if err != nil {
		return err
	}
	switch {
	case len(args) == 1 && args[0] == "backtest":
		return runCMABacktest(ctx, *csvPath, *demo, *asJSON, stdout, stderr)
	case len(args) == 1 && args[0] == "calibrate":
		return runCMACalibrate(ctx, c.cfg, *orgSlug, *maxSales, *asJSON, stdout, stderr)
	}
	return fmt.Errorf("cma: usage: estateflow %s", usage)
}

// runCMACalibrate backtests the organization's latest sales (each valued
// from the sales before it) and stores the measured errors, which every
// later CMA of the organization draws its 80% range and grades from.
func runCMACalibrate(ctx context.Context, cfg Config, orgSlug string, maxSales int, asJSON bool, stdout, stderr io.Writer) error {
	db, err := openAndMigrate(ctx, cfg, newLogger(io.Discard, cfg))
	if err != nil {
		return err
	}
	defer db.Close()
	org, err := db.Client.Organization.Query().Where(organization.Slug(orgSlug)).Only(tenant.SystemContext(ctx))
	if err != nil {
		return fmt.Errorf("cma calibrate: organization %q: %w", orgSlug, err)
	}
	orgCtx := tenant.NewContext(ctx, tenant.Viewer{OrgID: org.ID, Role: tenant.RoleAdmin})
	props, err := db.Client.Property.Query().Where(property.StatusEQ(property.StatusSOLD), property.SalePriceNotNil()).
		Order(ent.Desc(property.FieldSaleDate), ent.Desc(property.FieldID)).Limit(maxSales).All(orgCtx)
	if err != nil {
		return fmt.Errorf("cma calibrate: %w", err)
	}
	sales := make([]analytics.Home, len(props))
	for i, p := range props {
		sales[i] = analytics.HomeOf(p)
	}
	progress := newProgressPrinter(stderr)
	progress.verb = "valued"
	res, err := analytics.Backtest(orgCtx, analytics.EntSource{Client: db.Client}, sales, analytics.Options{}, progress.update)
	progress.finish()
	if err != nil {
		return fmt.Errorf("cma calibrate: %w", err)
	}
	cal, why := analytics.Calibrate(res.Samples, time.Now().UTC())
	if cal == nil {
		return fmt.Errorf("cma calibrate: %s in organization %q: its CMA ranges stay uncalibrated", why, orgSlug)
	}
	if err := analytics.SaveCalibration(orgCtx, db.Client, cal); err != nil {
		return fmt.Errorf("cma calibrate: %w", err)
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(cal)
	}
	fmt.Fprintf(stdout, "calibrated %s on %d backtested sales (MdAPE %.1f%%)\n", orgSlug, cal.Sales, res.MdAPE*100)
	for _, g := range cal.Grades {
		fmt.Fprintf(stdout, "%-6s %4d values: 80%% within ±%.0f%%, MdAPE %.1f%%\n", g.Grade, g.Count, g.Within80*100, g.MdAPE*100)
	}
	return nil
}

// runCMABacktest implements `estateflow cma backtest --csv FILE [--json]`:
// it imports the file into a scratch SQLite database and values every sale
// with the CMA step's own code, using only the other (and, when dated,
// earlier) sales as comps.
func runCMABacktest(ctx context.Context, csvPath string, demo, asJSON bool, stdout, stderr io.Writer) error {
	if (csvPath == "") == !demo {
		return fmt.Errorf("cma backtest: give either the sales file with --csv FILE or --demo")
	}
	dir, err := os.MkdirTemp("", "estateflow-backtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := database.Open(ctx, filepath.Join(dir, "backtest.db"), database.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	orgID, err := loadBacktestSales(ctx, db, csvPath, stderr)
	if err != nil {
		return fmt.Errorf("cma backtest: %w", err)
	}
	orgCtx := tenant.NewContext(ctx, tenant.Viewer{OrgID: orgID})
	props, err := db.Client.Property.Query().Where(property.StatusEQ(property.StatusSOLD)).All(orgCtx)
	if err != nil {
		return err
	}
	sales := make([]analytics.Home, len(props))
	for i, p := range props {
		sales[i] = analytics.HomeOf(p)
	}
	progress := newProgressPrinter(stderr)
	progress.verb = "valued"
	res, err := analytics.Backtest(orgCtx, analytics.EntSource{Client: db.Client}, sales, analytics.Options{}, progress.update)
	progress.finish()
	if err != nil {
		return fmt.Errorf("cma backtest: %w", err)
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	printBacktest(stdout, res)
	return nil
}

// printBacktest writes a backtest's figures as tables.
func printBacktest(w io.Writer, res analytics.BacktestResult) {
	fmt.Fprintf(w, "valued         %d of %d sales\ncoverage       %.1f%%\nMdAPE          %.1f%%\nPPE5           %.1f%%\nPPE10          %.1f%%\nPPE20          %.1f%%\n",
		res.Count, res.Total, res.Coverage*100, res.MdAPE*100, res.PPE5*100, res.PPE10*100, res.PPE20*100)
	fmt.Fprintf(w, "80%% band holds %.1f%% of true prices (%.0f%% of bands calibrated from the other, or earlier, sales)\n", res.BandCoverage*100, res.Calibrated*100)
	fmt.Fprintf(w, "\ngrade    values   MdAPE   PPE10   in 80%% band\n")
	for _, g := range res.Grades {
		fmt.Fprintf(w, "%-8s %6d  %5.1f%%  %5.1f%%  %5.1f%%\n", g.Grade, g.Count, g.MdAPE*100, g.PPE10*100, g.BandCoverage*100)
	}
	fmt.Fprintf(w, "\nprice fifth  up to       values   bias    MdAPE\n")
	for i, f := range res.PriceFifths {
		fmt.Fprintf(w, "%-12d %-10d %6d  %+5.1f%%  %5.1f%%\n", i+1, f.MaxPrice, f.Count, f.Bias*100, f.MdAPE*100)
	}
	fmt.Fprintf(w, "\nseconds        %.1f\n", res.Seconds)
}

// loadBacktestSales fills the scratch database: with the CSV file's rows,
// or, when csvPath is empty, with the generated demo data (dated sales of
// a market that rises 4% a year). It returns the organization that holds
// them.
func loadBacktestSales(ctx context.Context, db *database.DB, csvPath string, stderr io.Writer) (int, error) {
	if csvPath == "" {
		res, err := seed.Bootstrap(ctx, db.Client, true, time.Now().UTC())
		if err != nil {
			return 0, err
		}
		return res.Org.ID, nil
	}
	f, err := os.Open(csvPath)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	org, err := db.Client.Organization.Create().SetName("Backtest").SetSlug("backtest").Save(tenant.SystemContext(ctx))
	if err != nil {
		return 0, err
	}
	// A scratch organization has no automation rules: the import's
	// transactions, through an engine that never starts, trigger nothing.
	eng := engine.New(db.Client, engine.Config{Dialect: db.Dialect})
	defer func() { _ = eng.Stop(context.WithoutCancel(ctx)) }()
	sum, err := importer.Import(tenant.NewContext(ctx, tenant.Viewer{OrgID: org.ID}), eng, f, importer.Options{})
	if err != nil {
		return 0, err
	}
	if len(sum.Rejected) > 0 {
		fmt.Fprintf(stderr, "cma backtest: %d rows rejected by the importer (first: %s)\n", len(sum.Rejected), sum.Rejected[0])
	}
	return org.ID, nil
}
