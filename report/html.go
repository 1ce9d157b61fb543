package report

import (
	"github.com/estateflow/estateflow/internal/numfmt"

	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/modules/marketing"
	"github.com/estateflow/estateflow/modules/strategy"
)

//go:embed templates/report.html.tmpl
var templates embed.FS

// htmlTemplate is parsed once per renderer; html/template escapes every
// value by its context (text, attribute, SVG attribute, CSS).
var htmlFuncs = template.FuncMap{
	"money":       numfmt.Dollars,
	"signedMoney": signedMoney,
	"percent":     percent,
	"day":         day,
	"human":       humanName,
	"thousands":   numfmt.Thousands,
	"lower":       strings.ToLower,
	"contains":    strings.Contains,
	"feature":     featureName,
	"f1":          func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"plus":        func(a, b float64) float64 { return a + b },
	"minus":       func(a, b float64) float64 { return a - b },
	"plotWidth":   func(c *compsChart) float64 { return c.PlotRight - c.PlotLeft },
	"bandHeight":  func(b *chartBand) float64 { return b.YLow - b.YHigh },
	"intOr": func(p *int, or string) string {
		if p == nil {
			return or
		}
		return numfmt.Thousands(*p)
	},
	"floatOr": func(p *float64, or string) string {
		if p == nil {
			return or
		}
		return floatOrEmpty(p)
	},
}

// HTMLRenderer renders the seller-facing HTML report. Build it once with
// NewHTMLRenderer and share it: it is safe for concurrent use.
type HTMLRenderer struct {
	tmpl *template.Template
}

// NewHTMLRenderer parses the embedded template.
func NewHTMLRenderer() (*HTMLRenderer, error) {
	t, err := template.New("report.html.tmpl").Funcs(htmlFuncs).ParseFS(templates, "templates/report.html.tmpl")
	if err != nil {
		return nil, fmt.Errorf("report: parsing the HTML template: %w", err)
	}
	return &HTMLRenderer{tmpl: t}, nil
}

// MustNewHTMLRenderer is NewHTMLRenderer for a server's start: the template
// is embedded and tested, so an error is a bug in this package.
func MustNewHTMLRenderer() *HTMLRenderer {
	h, err := NewHTMLRenderer()
	if err != nil {
		panic(err)
	}
	return h
}

// htmlView is what the template shows.
type htmlView struct {
	Title     string
	Subject   string
	Report    *Report
	CMA       *analytics.Report
	Features  []string
	CompRows  []compRow
	Chart     *compsChart
	Strategy  *strategy.ListingStrategy
	Campaign  *marketing.MarketingCampaign
	Posts     []ScheduledPost
	Generated string
}

type compRow struct {
	Rank        int
	Comp        analytics.Comp
	Adjustments []string // one per feature, "" where the comp has none
}

// Write renders r as a self-contained page: inline CSS and SVG, nothing
// loaded from elsewhere, with print rules for a clean PDF.
func (h *HTMLRenderer) Write(w io.Writer, r *Report) error {
	v := htmlView{
		Title:     r.title(),
		Subject:   r.subjectLine(),
		Report:    r,
		Posts:     r.Effects.ScheduledPosts,
		Generated: r.GeneratedAt.Format("January 2, 2006"),
	}
	if cma, ok := r.CMA(); ok {
		v.CMA = cma
		v.Features = CompsFeatures(cma)
		for i, c := range cma.Comps {
			row := compRow{Rank: i + 1, Comp: c, Adjustments: make([]string, len(v.Features))}
			amounts := map[string]int{}
			for _, a := range c.Adjustments {
				amounts[a.Feature] += a.Amount
			}
			for j, f := range v.Features {
				if n, ok := amounts[f]; ok && n != 0 {
					row.Adjustments[j] = signedMoney(n)
				}
			}
			v.CompRows = append(v.CompRows, row)
		}
		var sqft *int
		if r.Run.Property != nil {
			sqft = r.Run.Property.Sqft
		}
		v.Chart = newCompsChart(cma, sqft)
	}
	if st, ok := r.Strategy(); ok {
		v.Strategy = st
	}
	if c, ok := r.Campaign(); ok {
		v.Campaign = c
	}
	return h.tmpl.Execute(w, v)
}
