package app

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/estateflow/estateflow/ent/scheduledpost"
	"github.com/estateflow/estateflow/ent/steprun"
	"github.com/estateflow/estateflow/modules/analytics"
	"github.com/estateflow/estateflow/report"
)

// reportPath is a run's report in a format (and query).
func reportPath(runID, query string) string { return "/api/v1/runs/" + runID + "/report?" + query }

// TestRunReports runs the built-in New Listing package on demo data, then
// fetches its report in every format and parses each back: JSON and CSV
// with their parsers, HTML with an HTML parser and, printed to PDF by
// headless chromium, by its pages. Each must say what the database holds.
// Another organization gets NOT_FOUND in every format.
func TestRunReports(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{demo: true})
	prop, pkg := api.activeListingAndNewListing(t)
	var started struct {
		StartRun struct{ ID, ReportURL string } `json:"startRun"`
	}
	api.do(`mutation($pkg: ID!, $prop: ID!) { startRun(input: {packageId: $pkg, propertyId: $prop, params: {listingStartDate: "2026-11-21"}}) { id reportUrl } }`,
		map[string]any{"pkg": pkg, "prop": prop}).ok(t, &started)
	runID := started.StartRun.ID
	if want := "/api/v1/runs/" + runID + "/report?format=html"; started.StartRun.ReportURL != want {
		t.Fatalf("reportUrl %q, want %q", started.StartRun.ReportURL, want)
	}
	if r := api.waitRun(t, mustInt(t, runID)); r.Status.String() != "SUCCEEDED" {
		t.Fatalf("run %s", r.Status)
	}

	// What the database holds, read directly.
	steps, err := api.ent().StepRun.Query().Where(steprun.RunID(mustInt(t, runID))).Order(steprun.ByPosition()).All(api.ctx())
	if err != nil {
		t.Fatal(err)
	}
	posts, err := api.ent().ScheduledPost.Query().Where(scheduledpost.RunID(mustInt(t, runID))).All(api.ctx())
	if err != nil {
		t.Fatal(err)
	}
	var cma analytics.Report
	for _, s := range steps {
		if s.Kind == "CMA_ANALYSIS" {
			b, _ := json.Marshal(s.Output)
			if err := json.Unmarshal(b, &cma); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(steps) != 4 || len(posts) == 0 || len(cma.Comps) < 3 {
		t.Fatalf("%d steps, %d posts, %d comps", len(steps), len(posts), len(cma.Comps))
	}

	t.Run("json", func(t *testing.T) {
		resp := api.rest(t, http.MethodGet, reportPath(runID, "format=json"), nil)
		var got struct {
			Run struct {
				ID, Status string
				Package    struct{ Key string }
				Property   struct{ ID string }
			}
			Steps []struct {
				Key, Kind, Status string
				Attempts          int
				Output            json.RawMessage
			}
			Effects struct {
				ScheduledPosts []struct{ ID, Platform, Text string } `json:"scheduledPosts"`
				Emails, Tasks  []any
				LeadScores     []any `json:"leadScores"`
			}
		}
		resp.ok(t, http.StatusOK, &got)
		if got.Run.ID != runID || got.Run.Status != "SUCCEEDED" || got.Run.Package.Key != "new-listing" || got.Run.Property.ID != prop {
			t.Fatalf("run %+v", got.Run)
		}
		if len(got.Steps) != len(steps) {
			t.Fatalf("%d steps, want %d", len(got.Steps), len(steps))
		}
		for i, s := range steps {
			g := got.Steps[i]
			if g.Key != s.Key || g.Kind != string(s.Kind) || g.Status != s.Status.String() || g.Attempts != s.Attempt {
				t.Errorf("step %d: %+v, stored %s %s %s attempt %d", i, g, s.Key, s.Kind, s.Status, s.Attempt)
			}
			// The typed output is the stored output, field for field.
			var typed, stored any
			storedRaw, _ := json.Marshal(s.Output)
			if err := json.Unmarshal(g.Output, &typed); err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal(storedRaw, &stored)
			if !reflect.DeepEqual(typed, stored) {
				t.Errorf("step %s: output %s\nstored %s", s.Key, g.Output, storedRaw)
			}
		}
		if len(got.Effects.ScheduledPosts) != len(posts) || got.Effects.Emails == nil || got.Effects.Tasks == nil || got.Effects.LeadScores == nil {
			t.Fatalf("effects %+v, %d posts stored", got.Effects, len(posts))
		}
		stored := map[string]string{}
		for _, p := range posts {
			stored[strconv.Itoa(p.ID)] = p.Text
		}
		for _, p := range got.Effects.ScheduledPosts {
			if text, ok := stored[p.ID]; !ok || text != p.Text {
				t.Errorf("post %s %q is not the stored one", p.ID, p.Text)
			}
		}
		if resp.header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("Content-Type %q", resp.header.Get("Content-Type"))
		}
	})

	t.Run("csv steps", func(t *testing.T) {
		resp := api.rest(t, http.MethodGet, reportPath(runID, "format=csv"), nil)
		rows := parseCSV(t, resp, "text/csv")
		if !reflect.DeepEqual(rows[0], report.StepsCSVHeader) {
			t.Fatalf("header %q", rows[0])
		}
		if len(rows) != len(steps)+1 {
			t.Fatalf("%d rows for %d steps", len(rows)-1, len(steps))
		}
		col := columns(rows[0])
		for i, s := range steps {
			row := rows[i+1]
			if row[col["key"]] != s.Key || row[col["kind"]] != string(s.Kind) || row[col["status"]] != s.Status.String() ||
				row[col["attempts"]] != strconv.Itoa(s.Attempt) || row[col["started_at"]] == "" || row[col["finished_at"]] == "" {
				t.Errorf("row %q, stored %s %s %s %d", row, s.Key, s.Kind, s.Status, s.Attempt)
			}
		}
		if cd := resp.header.Get("Content-Disposition"); !strings.Contains(cd, "attachment") || !strings.Contains(cd, "run-"+runID+"-steps.csv") {
			t.Errorf("Content-Disposition %q", cd)
		}
	})

	t.Run("csv comps", func(t *testing.T) {
		rows := parseCSV(t, api.rest(t, http.MethodGet, reportPath(runID, "format=csv&table=comps"), nil), "text/csv")
		if len(rows) != len(cma.Comps)+1 {
			t.Fatalf("%d rows for %d comps", len(rows)-1, len(cma.Comps))
		}
		col := columns(rows[0])
		adjusted := 0
		for i, c := range cma.Comps {
			row := rows[i+1]
			if row[col["property_id"]] != strconv.Itoa(c.PropertyID) || row[col["sale_price"]] != strconv.Itoa(c.SalePrice) ||
				row[col["adjusted_price"]] != strconv.Itoa(c.AdjustedPrice) {
				t.Errorf("row %d %q, stored comp %+v", i+1, row, c)
			}
			// Each feature's adjustment has its column, and the columns
			// hold the stored amounts.
			sum := 0
			for _, a := range c.Adjustments {
				idx, ok := col["adjustment_"+a.Feature]
				if !ok {
					t.Fatalf("no column for feature %s in %q", a.Feature, rows[0])
				}
				n, err := strconv.Atoi(row[idx])
				if err != nil || n != a.Amount {
					t.Errorf("comp %d %s: %q, stored %d", i+1, a.Feature, row[idx], a.Amount)
				}
				sum += a.Amount
				adjusted++
			}
			// Each amount is rounded on its own: a dollar apiece.
			if d := c.SalePrice + sum - c.AdjustedPrice; d > len(c.Adjustments) || -d > len(c.Adjustments) {
				t.Errorf("comp %d: sale %d + adjustments %d is not adjusted %d", i+1, c.SalePrice, sum, c.AdjustedPrice)
			}
		}
		if adjusted == 0 {
			t.Fatal("no comp has an adjustment: the table shows none")
		}
	})

	t.Run("markdown", func(t *testing.T) {
		resp := api.rest(t, http.MethodGet, reportPath(runID, "format=md"), nil)
		if resp.status != http.StatusOK || !strings.HasPrefix(resp.header.Get("Content-Type"), "text/markdown") {
			t.Fatalf("%d %s: %s", resp.status, resp.header.Get("Content-Type"), resp.raw)
		}
		md := string(resp.raw)
		for _, want := range []string{"# New Listing", "## Market value", "## Listing plan", "## Steps", dollars(cma.EstimatedValue), dollars(cma.ValueLow)} {
			if !strings.Contains(md, want) {
				t.Errorf("the Markdown lacks %q:\n%s", want, md)
			}
		}
		for _, s := range steps {
			if !strings.Contains(md, "| "+s.Name+" | SUCCEEDED |") {
				t.Errorf("the Markdown's steps table lacks %s", s.Name)
			}
		}
	})

	var page []byte
	t.Run("html", func(t *testing.T) {
		resp := api.rest(t, http.MethodGet, reportPath(runID, "format=html"), nil)
		if resp.status != http.StatusOK || resp.header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("%d %s: %s", resp.status, resp.header.Get("Content-Type"), resp.raw)
		}
		if csp := resp.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Fatalf("Content-Security-Policy %q", csp)
		}
		page = resp.raw
		doc, err := html.Parse(bytes.NewReader(resp.raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := digits(textOf(byID(doc, "estimated-value"))); got != strconv.Itoa(cma.EstimatedValue) {
			t.Errorf("estimated value %q, stored %d", got, cma.EstimatedValue)
		}
		if got := digits(textOf(byID(doc, "value-range"))); got != strconv.Itoa(cma.ValueLow)+strconv.Itoa(cma.ValueHigh) {
			t.Errorf("range %q, stored %d–%d", got, cma.ValueLow, cma.ValueHigh)
		}
		// The comps table: one row per stored comp, in order.
		var rowIDs []string
		walk(byID(doc, "comps"), func(n *html.Node) {
			if n.DataAtom == atom.Tr && attr(n, "data-property-id") != "" {
				rowIDs = append(rowIDs, attr(n, "data-property-id"))
			}
		})
		var wantIDs []string
		withArea := 0
		for _, c := range cma.Comps {
			wantIDs = append(wantIDs, strconv.Itoa(c.PropertyID))
			if c.Sqft != nil {
				withArea++
			}
		}
		if !reflect.DeepEqual(rowIDs, wantIDs) {
			t.Errorf("comps rows %v, stored %v", rowIDs, wantIDs)
		}
		// The adjustments: a row per adjusted feature, a column per comp.
		features := map[string]bool{}
		for _, c := range cma.Comps {
			for _, a := range c.Adjustments {
				features[a.Feature] = true
			}
		}
		var featureRows []string
		walk(byID(doc, "adjustments"), func(n *html.Node) {
			if f := attr(n, "data-feature"); f != "" {
				featureRows = append(featureRows, f)
				if !features[f] {
					t.Errorf("feature %s has a row and no comp adjusts it", f)
				}
			}
		})
		if len(featureRows) != len(features) {
			t.Errorf("adjustment rows %v, features %v", featureRows, features)
		}
		// The chart: inline SVG, a point per comp with an area, and the
		// subject's value and range marked.
		chart := byID(doc, "comps-chart")
		var svg *html.Node
		points, subjectValue, subjectRange := 0, 0, 0
		walk(chart, func(n *html.Node) {
			switch {
			case n.DataAtom == atom.Svg:
				svg = n
			case n.Data == "circle" && attr(n, "class") == "comp":
				points++
			}
			switch attr(n, "data-role") {
			case "subject-value":
				subjectValue++
			case "subject-range":
				subjectRange++
			}
		})
		if svg == nil || points != withArea || subjectValue != 1 || subjectRange != 1 {
			t.Errorf("chart: svg %v, %d points for %d comps with an area, subject value %d, range %d", svg != nil, points, withArea, subjectValue, subjectRange)
		}
		// Self-contained: nothing is loaded from anywhere.
		walk(doc, func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			switch n.DataAtom {
			case atom.Script, atom.Link, atom.Img, atom.Iframe, atom.Object, atom.Embed:
				t.Errorf("the page has a <%s>", n.Data)
			}
			for _, a := range n.Attr {
				if (a.Key == "src" || a.Key == "href") && !strings.HasPrefix(a.Val, "#") {
					t.Errorf("<%s %s=%q> loads from elsewhere", n.Data, a.Key, a.Val)
				}
			}
		})
		if bytes.Contains(resp.raw, []byte("url(")) || bytes.Contains(resp.raw, []byte("@import")) {
			t.Error("the CSS loads from elsewhere")
		}
		for _, want := range []string{"Your listing plan", "Pricing options", "@media print", "break-before: page"} {
			if !bytes.Contains(resp.raw, []byte(want)) {
				t.Errorf("the page lacks %q", want)
			}
		}
	})

	t.Run("pdf", func(t *testing.T) {
		if page == nil {
			t.Skip("the HTML report failed")
		}
		pdf := printToPDF(t, api.srv.URL+started.StartRun.ReportURL, api.token)
		n := pdfPages(t, pdf)
		// The CMA, the listing plan and the steps each start a page; four
		// comps' worth of rows and a chart fit on a few pages each.
		if n < 3 || n > 12 {
			t.Fatalf("the report prints on %d pages, want 3 to 12", n)
		}
		t.Logf("the HTML report (%d bytes) prints on %d letter pages (%d bytes of PDF)", len(page), n, len(pdf))
	})

	t.Run("another organization", func(t *testing.T) {
		rivalTok, _ := rivalToken(t, api)
		for _, q := range []string{"format=json", "format=csv", "format=csv&table=comps", "format=md", "format=html"} {
			restCall(t, api.srv.URL, rivalTok, http.MethodGet, reportPath(runID, q), nil, nil).wantError(t, http.StatusNotFound, "NOT_FOUND", "id")
		}
		restCall(t, api.srv.URL, "", http.MethodGet, reportPath(runID, "format=html"), nil, nil).wantError(t, http.StatusUnauthorized, "UNAUTHENTICATED", "")
	})
}

// TestRunReportRefusals: bad formats and tables, unknown runs, and a comps
// table for a run whose CMA failed.
func TestRunReportRefusals(t *testing.T) {
	t.Parallel()
	f := newRESTFixture(t)
	failed := f.finished(t, f.start(t, map[string]any{"fail": true}).ID)
	if failed.Status != "FAILED" {
		t.Fatalf("run %s", failed.Status)
	}
	for _, tc := range []struct {
		name, path  string
		status      int
		code, field string
	}{
		{"unknown format", reportPath(failed.ID, "format=pdf"), http.StatusBadRequest, "BAD_USER_INPUT", "format"},
		{"format in capitals", reportPath(failed.ID, "format=JSON"), http.StatusBadRequest, "BAD_USER_INPUT", "format"},
		{"table without csv", reportPath(failed.ID, "format=md&table=comps"), http.StatusBadRequest, "BAD_USER_INPUT", "table"},
		{"unknown table", reportPath(failed.ID, "format=csv&table=emails"), http.StatusBadRequest, "BAD_USER_INPUT", "table"},
		{"comps of a run without a CMA output", reportPath(failed.ID, "format=csv&table=comps"), http.StatusNotFound, "NOT_FOUND", "table"},
		{"unknown run", reportPath("17179899999", "format=json"), http.StatusNotFound, "NOT_FOUND", "id"},
		{"not an ID", reportPath("abc", "format=json"), http.StatusBadRequest, "BAD_USER_INPUT", "id"},
		{"POST", reportPath(failed.ID, "format=json"), http.StatusMethodNotAllowed, "BAD_USER_INPUT", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := http.MethodGet
			if tc.name == "POST" {
				method = http.MethodPost
			}
			f.rest(t, method, tc.path, nil).wantError(t, tc.status, tc.code, tc.field)
		})
	}
	// The failed run still has its report, which says why it failed.
	rows := parseCSV(t, f.rest(t, http.MethodGet, reportPath(failed.ID, "format=csv"), nil), "text/csv")
	col := columns(rows[0])
	if rows[1][col["key"]] != "cma" || rows[1][col["status"]] != "FAILED" || !strings.Contains(rows[1][col["error"]], "no comparable sales") {
		t.Fatalf("the CMA's row %q", rows[1])
	}
	var rep struct{ Run struct{ Status string } }
	f.rest(t, http.MethodGet, reportPath(failed.ID, ""), nil).ok(t, http.StatusOK, &rep)
	if rep.Run.Status != "FAILED" {
		t.Fatalf("the JSON report (the default format) says %s", rep.Run.Status)
	}
}

func parseCSV(t *testing.T, resp restResponse, contentType string) [][]string {
	t.Helper()
	if resp.status != http.StatusOK || !strings.HasPrefix(resp.header.Get("Content-Type"), contentType) {
		t.Fatalf("%d %s: %s", resp.status, resp.header.Get("Content-Type"), resp.raw)
	}
	r := csv.NewReader(bytes.NewReader(resp.raw))
	rows, err := r.ReadAll() // ReadAll also checks every row has the header's width
	if err != nil {
		t.Fatalf("the CSV does not parse: %v\n%s", err, resp.raw)
	}
	if len(rows) == 0 {
		t.Fatal("the CSV is empty")
	}
	return rows
}

func columns(header []string) map[string]int {
	out := map[string]int{}
	for i, h := range header {
		out[h] = i
	}
	return out
}

func byID(n *html.Node, id string) *html.Node {
	var found *html.Node
	walk(n, func(c *html.Node) {
		if found == nil && attr(c, "id") == id {
			found = c
		}
	})
	return found
}

func walk(n *html.Node, fn func(*html.Node)) {
	if n == nil {
		return
	}
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func textOf(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return b.String()
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// dollars formats whole dollars as the reports do: $1,234,567.
func dollars(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return "$" + s
}
