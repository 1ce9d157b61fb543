package report

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/modules/strategy"
)

// hostile is text a record could hold: markup, Markdown, a formula.
const hostile = `=HYPERLINK("http://evil.example")<script>alert(1)</script>|**x**`

func hostileReport() *Report {
	sqft, beds := 1800, 3
	sold := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	errText := hostile
	return &Report{
		Run: Run{ID: "7", Package: Package{Name: "New Listing " + hostile, Version: 1}, Status: "SUCCEEDED",
			Property: &Property{ID: "5", Address: hostile, City: "Austin", Sqft: &sqft}},
		Steps: []Step{
			{Key: "cma", Name: hostile, Kind: "CMA_ANALYSIS", Status: "SUCCEEDED", Attempts: 1, DependsOn: []string{},
				Output: &analytics.Report{EstimatedValue: 500000, ValueLow: 470000, ValueHigh: 530000, Confidence: "HIGH",
					ConfidenceReason: hostile, Comps: []analytics.Comp{
						{PropertyID: 11, Address: hostile, SalePrice: 480000, SaleDate: &sold, Sqft: &sqft, Beds: &beds, AdjustedPrice: 495000,
							Adjustments: []analytics.Adjustment{{Feature: "sqft", Amount: 15000}}},
						{PropertyID: 12, Address: "2 Elm St", SalePrice: 520000, AdjustedPrice: 505000,
							Adjustments: []analytics.Adjustment{{Feature: "beds", Amount: -15000}}},
					}}},
			{Key: "strategy", Name: "Strategy", Kind: "LISTING_STRATEGY", Status: "FAILED", Attempts: 3, Error: &errText, DependsOn: []string{"cma"}},
		},
		Effects:     Effects{ScheduledPosts: []ScheduledPost{{ID: "1", Platform: "FACEBOOK", Text: hostile}}},
		GeneratedAt: time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC),
	}
}

// TestHTMLEscapesEverything: no value reaches the page as markup.
func TestHTMLEscapesEverything(t *testing.T) {
	t.Parallel()
	h, err := NewHTMLRenderer()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := h.Write(&buf, hostileReport()); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("<script")) {
		t.Fatal("a value reached the page as a <script>")
	}
	doc, err := html.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var texts int
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "script" {
			t.Error("the page has a script element")
		}
		if n.Type == html.TextNode && strings.Contains(n.Data, "<script>alert(1)</script>") {
			texts++
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if texts == 0 {
		t.Fatal("the hostile text is not shown as text")
	}
}

// TestCSVDefusesFormulas: free text that a spreadsheet would run starts
// with an apostrophe; numbers stay numbers.
func TestCSVDefusesFormulas(t *testing.T) {
	t.Parallel()
	for name, write := range map[string]func(*bytes.Buffer, *Report) error{
		"steps": func(b *bytes.Buffer, r *Report) error { return WriteStepsCSV(b, r) },
		"comps": func(b *bytes.Buffer, r *Report) error { return WriteCompsCSV(b, r) },
	} {
		var buf bytes.Buffer
		if err := write(&buf, hostileReport()); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, row := range rows[1:] {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+@", rune(cell[0])) {
					t.Errorf("%s: cell %q would run as a formula", name, cell)
				}
			}
		}
		if name == "comps" {
			col := map[string]int{}
			for i, h := range rows[0] {
				col[h] = i
			}
			if rows[1][col["adjustment_sqft"]] != "15000" || rows[2][col["adjustment_beds"]] != "-15000" || rows[1][col["adjustment_beds"]] != "0" {
				t.Errorf("adjustment columns: %q %q", rows[1], rows[2])
			}
		}
	}
	if err := WriteCompsCSV(&bytes.Buffer{}, &Report{Steps: []Step{{Output: &strategy.ListingStrategy{}}}}); err != ErrNoCMA {
		t.Fatalf("comps of a run without a CMA: %v", err)
	}
}

// TestMarkdownEscapes: text cannot open Markdown or HTML syntax, nor break a
// table row.
func TestMarkdownEscapes(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, hostileReport()); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	for _, bad := range []string{"<script>", "**x**", "|**"} {
		if strings.Contains(md, bad) {
			t.Errorf("the Markdown has %q unescaped:\n%s", bad, md)
		}
	}
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Count(line, " | ")-strings.Count(line, `\| `) > 6 {
			t.Errorf("a table row breaks into extra cells: %s", line)
		}
	}
	if !strings.Contains(md, "$500,000") || !strings.Contains(md, "$470,000 – $530,000") {
		t.Errorf("the value is missing:\n%s", md)
	}
}

// TestChartMarksTheSubject: comps are placed by area and price, and the
// subject's value sits inside its range's bar.
func TestChartMarksTheSubject(t *testing.T) {
	t.Parallel()
	r := hostileReport()
	cma, _ := r.CMA()
	ch := newCompsChart(cma, r.Run.Property.Sqft)
	if ch == nil || len(ch.Points) != 1 || ch.Unplotted != 1 || ch.Subject == nil || ch.Band != nil {
		t.Fatalf("chart %+v", ch)
	}
	s := ch.Subject
	// SVG y grows downward: the high end is above the value, the low below.
	if !(s.YHigh < s.Y && s.Y < s.YLow) || s.X < ch.PlotLeft || s.X > ch.PlotRight {
		t.Fatalf("subject %+v in plot %v–%v", s, ch.PlotLeft, ch.PlotRight)
	}
	// The comp sold below the subject's value: its point is lower.
	if ch.Points[0].Y <= s.Y {
		t.Fatalf("a $480,000 comp at y=%v, the $500,000 value at y=%v", ch.Points[0].Y, s.Y)
	}
	if ch := newCompsChart(cma, nil); ch == nil || ch.Band == nil || ch.Subject != nil {
		t.Fatalf("without the subject's area: %+v", ch)
	}
}
