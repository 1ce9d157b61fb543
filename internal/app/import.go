package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/estateflow/estateflow/ent/organization"
	"github.com/estateflow/estateflow/importer"
	"github.com/estateflow/estateflow/internal/logscrub"
	"github.com/estateflow/estateflow/seed"
	"github.com/estateflow/estateflow/tenant"
)

// Import implements `estateflow import properties [--org SLUG] FILE.csv`.
func Import(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := newCommandLine("import", "import properties [flags] FILE.csv",
		"Upserts properties from a CSV file into an organization, creating the database if need be.", stderr, os.LookupEnv)
	c.databaseFlags()
	c.demoFlag()
	orgSlug := c.fs.String("org", seed.DemoOrgSlug, "slug of the organization to import into")
	args, err := c.parse(args)
	if err != nil {
		return err
	}
	cfg := c.cfg
	if len(args) != 2 || args[0] != "properties" {
		return fmt.Errorf("import: usage: estateflow import properties [--org SLUG] FILE.csv")
	}
	return importProperties(ctx, cfg, *orgSlug, args[1], stdout, stderr)
}

func importProperties(ctx context.Context, cfg Config, orgSlug, path string, stdout, stderr io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()

	logger := newLogger(io.Discard, cfg)
	db, err := openAndMigrate(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	// The import's transactions record the automation triggers of the
	// properties whose status they change, for the server to start.
	eng := commandEngine(db, cfg, logger)
	defer func() { _ = eng.Stop(context.WithoutCancel(ctx)) }()
	if _, err := seed.Bootstrap(ctx, db.Client, cfg.Demo, time.Now()); err != nil {
		return err
	}
	org, err := db.Client.Organization.Query().Where(organization.Slug(orgSlug)).Only(tenant.SystemContext(ctx))
	if err != nil {
		return fmt.Errorf("import: organization %q: %w", orgSlug, err)
	}
	orgCtx := tenant.NewContext(ctx, tenant.Viewer{OrgID: org.ID, Role: tenant.RoleAdmin})

	start := time.Now()
	progress := newProgressPrinter(stderr)
	sum, err := importer.Import(orgCtx, eng, f, importer.Options{Progress: progress.update})
	progress.finish()
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	for i, rej := range sum.Rejected {
		if i == 50 {
			fmt.Fprintf(stdout, "… and %d more rejected rows\n", len(sum.Rejected)-50)
			break
		}
		// A rejection quotes the cell at fault, and this report ends up in
		// CI logs: a misplaced email or phone number does not.
		fmt.Fprintf(stdout, "rejected %s\n", logscrub.String(rej.Error()))
	}
	fmt.Fprintf(stdout, "imported %d, updated %d, unchanged %d, rejected %d (into %s, %.2fs)\n",
		sum.Imported, sum.Updated, sum.Unchanged, len(sum.Rejected), org.Slug, time.Since(start).Seconds())
	return nil
}

// progressPrinter draws a bar on a terminal and prints plain lines, every
// tenth of the way, anywhere else (logs, CI).
type progressPrinter struct {
	w         io.Writer
	terminal  bool
	lastTenth int
	verb      string
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	p := &progressPrinter{w: w, lastTenth: -1, verb: "imported"}
	if f, ok := w.(*os.File); ok {
		p.terminal = isatty.IsTerminal(f.Fd())
	}
	return p
}

func (p *progressPrinter) update(done, total int) {
	if total == 0 {
		return
	}
	if p.terminal {
		const width = 30
		filled := done * width / total
		fmt.Fprintf(p.w, "\r[%s%s] %3d%% %d/%d rows", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done*100/total, done, total)
		return
	}
	if tenth := done * 10 / total; tenth != p.lastTenth {
		p.lastTenth = tenth
		fmt.Fprintf(p.w, "%s %d/%d rows (%d%%)\n", p.verb, done, total, done*100/total)
	}
}

func (p *progressPrinter) finish() {
	if p.terminal {
		fmt.Fprintln(p.w)
	}
}
