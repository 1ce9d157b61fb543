package report

import (
	"github.com/estateflow/estateflow/internal/numfmt"

	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes the report as Markdown meant to be pasted into a CRM
// note: a headline, the outcome in a sentence, the figures that matter, and
// the steps and their effects in short tables and lists.
func WriteMarkdown(w io.Writer, r *Report) error {
	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }

	p("# %s\n\n", md(r.title()))
	p("**Run %s** · %s v%d · **%s**", md(r.Run.ID), md(r.Run.Package.Name), r.Run.Package.Version, r.Run.Status)
	if r.Run.FinishedAt != nil {
		p(" on %s", r.Run.FinishedAt.UTC().Format("Jan 2, 2006 15:04 MST"))
	}
	p("\n\n")
	if r.Run.Error != nil {
		p("> **Error:** %s\n\n", md(*r.Run.Error))
	}

	if cma, ok := r.CMA(); ok {
		p("## Market value\n\n")
		p("- **Estimated value:** %s\n", numfmt.Dollars(cma.EstimatedValue))
		p("- **80%% range:** %s – %s\n", numfmt.Dollars(cma.ValueLow), numfmt.Dollars(cma.ValueHigh))
		p("- **Confidence:** %s. %s\n", humanName(cma.Confidence), md(cma.ConfidenceReason))
		p("- **Comparable sales:** %d within %.1f miles\n", cma.ValueCompCount, cma.SearchRadiusMiles)
		if cma.ListingNote != "" {
			p("- **Note:** %s\n", md(cma.ListingNote))
		}
		p("\n")
		if len(cma.Comps) > 0 {
			p("| # | Address | Sold | Sale price | Sq ft | Adjusted |\n|---:|---|---|---:|---:|---:|\n")
			for i, c := range cma.Comps {
				sold := ""
				if c.SaleDate != nil {
					sold = day(*c.SaleDate)
				}
				p("| %d | %s | %s | %s | %s | %s |\n", i+1, cell(c.Address), sold, numfmt.Dollars(c.SalePrice), intOrEmpty(c.Sqft), numfmt.Dollars(c.AdjustedPrice))
			}
			p("\n")
		}
	}
	if st, ok := r.Strategy(); ok {
		p("## Listing plan\n\n")
		p("%s market: %s\n\n", humanName(st.Market.Temperature), md(st.Market.Reason))
		if len(st.PricingOptions) > 0 {
			p("| Option | Price | Days on market | Risk |\n|---|---:|---|---|\n")
			for _, o := range st.PricingOptions {
				p("| %s | %s | %d–%d | %s |\n", humanName(o.Name), numfmt.Dollars(o.Price), o.MinDaysOnMarket, o.MaxDaysOnMarket, cell(o.Risk))
			}
			p("\n")
		}
		for _, m := range st.Timeline {
			p("- **%s** – %s", day(m.Date), md(humanName(m.Name)))
			if m.Note != "" {
				p(": %s", md(m.Note))
			}
			p("\n")
		}
		if len(st.Timeline) > 0 {
			p("\n")
		}
	}
	if c, ok := r.Campaign(); ok && len(c.Headlines) > 0 {
		p("## Campaign\n\n")
		for _, h := range c.Headlines {
			p("- %s\n", md(h))
		}
		p("\n")
	}

	p("## Steps\n\n| Step | Status | Attempts | Result |\n|---|---|---:|---|\n")
	for _, s := range r.Steps {
		p("| %s | %s | %d | %s |\n", cell(s.Name), s.Status, s.Attempts, cell(s.Summary))
	}
	p("\n")

	e := r.Effects
	if len(e.ScheduledPosts)+len(e.Emails)+len(e.Tasks)+len(e.LeadScores) > 0 {
		p("## Created by this run\n\n")
		for _, post := range e.ScheduledPosts {
			p("- Post on %s, %s: %s\n", humanName(post.Platform), post.ScheduledAt.Format("Jan 2 15:04 MST"), md(oneLine(post.Text, 120)))
		}
		for _, m := range e.Emails {
			p("- Email %s: %s\n", day(m.ScheduledAt), md(m.Subject))
		}
		for _, t := range e.Tasks {
			p("- Task (%s) due %s: %s\n", strings.ToLower(t.Type), day(t.DueAt), md(t.Title))
		}
		for _, s := range e.LeadScores {
			p("- Lead score %d (%s)\n", s.Score, strings.ToLower(s.Tier))
		}
		p("\n")
	}
	p("_Report generated %s._\n", r.GeneratedAt.Format("Jan 2, 2006 15:04 MST"))
	return b.Flush()
}

// mdSpecial are the characters that would start Markdown (or HTML) syntax
// in a CRM that renders it.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", `\<`, ">", `\>`, "#", `\#`, "|", `\|`, "\r\n", " ", "\n", " ", "\r", " ",
)

// md escapes text for Markdown prose, on one line.
func md(s string) string { return mdEscaper.Replace(s) }

// cell escapes text for a Markdown table cell.
func cell(s string) string { return md(strings.TrimSpace(s)) }

// oneLine shortens s to at most n runes on one line.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
