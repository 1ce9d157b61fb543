package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/estateflow/estateflow/database"
	"github.com/estateflow/estateflow/ent/property"
	"github.com/estateflow/estateflow/importer"
	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/tenant"
)

// CMA implements `estateflow cma backtest --csv FILE [--json]`.
func CMA(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommandLine("cma", "cma backtest --csv FILE [--json]",
		"Values every sale in FILE from the others, in a scratch database, and prints the errors.", stderr, os.LookupEnv)
	csvPath := c.fs.String("csv", "", "the sales file to value")
	asJSON := c.fs.Bool("json", false, "print one JSON object")
	args, err := c.parse(args)
	if err != nil {
		return err
	}
	if len(args) != 1 || args[0] != "backtest" {
		return fmt.Errorf("cma: usage: estateflow cma backtest --csv FILE [--json]")
	}
	return runCMABacktest(ctx, *csvPath, *asJSON, stdout, stderr)
}

// runCMABacktest implements `estateflow cma backtest --csv FILE [--json]`:
// it imports the file into a scratch SQLite database and values every sale
// with the CMA step's own code, using only the other (and, when dated,
// earlier) sales as comps.
func runCMABacktest(ctx context.Context, csvPath string, asJSON bool, stdout, stderr io.Writer) error {
	if csvPath == "" {
		return fmt.Errorf("cma backtest: give the sales file with --csv FILE")
	}
	f, err := os.Open(csvPath)
	if err != nil {
		return fmt.Errorf("cma backtest: %w", err)
	}
	defer f.Close()
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
	org, err := db.Client.Organization.Create().SetName("Backtest").SetSlug("backtest").Save(tenant.SystemContext(ctx))
	if err != nil {
		return fmt.Errorf("cma backtest: %w", err)
	}
	orgCtx := tenant.NewContext(ctx, tenant.Viewer{OrgID: org.ID})
	sum, err := importer.Import(orgCtx, db.Client, f, importer.Options{})
	if err != nil {
		return fmt.Errorf("cma backtest: %w", err)
	}
	if len(sum.Rejected) > 0 {
		fmt.Fprintf(stderr, "cma backtest: %d rows rejected by the importer (first: %s)\n", len(sum.Rejected), sum.Rejected[0])
	}
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
	fmt.Fprintf(stdout, "valued    %d of %d sales\ncoverage  %.1f%%\nMdAPE     %.1f%%\nPPE5      %.1f%%\nPPE10     %.1f%%\nPPE20     %.1f%%\nseconds   %.1f\n",
		res.Count, res.Total, res.Coverage*100, res.MdAPE*100, res.PPE5*100, res.PPE10*100, res.PPE20*100, res.Seconds)
	return nil
}
