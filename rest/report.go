package rest

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"

	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/report"
)

// Report formats (?format=) and CSV tables (?table=).
const (
	formatJSON     = "json"
	formatCSV      = "csv"
	formatMarkdown = "md"
	formatHTML     = "html"

	tableSteps = "steps"
	tableComps = "comps"
)

// reportFormats lists the formats in the order the OpenAPI document and the
// error message name them.
var reportFormats = []string{formatJSON, formatCSV, formatMarkdown, formatHTML}

// reportContentTypes is each format's media type.
var reportContentTypes = map[string]string{
	formatJSON:     "application/json; charset=utf-8",
	formatCSV:      "text/csv; charset=utf-8; header=present",
	formatMarkdown: "text/markdown; charset=utf-8",
	formatHTML:     "text/html; charset=utf-8",
}

// reportCSP keeps the HTML report self-contained in the browser too: it may
// use its inline styles and nothing else, so a value that slipped past
// escaping still could not load or run anything.
const reportCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"

// reportQuery is what GET /runs/{id}/report was asked for.
type reportQuery struct {
	format string
	table  string
}

// parseReportQuery reads ?format= (json when absent) and ?table= (only with
// csv: steps when absent, or comps).
func parseReportQuery(r *http.Request) (reportQuery, error) {
	q := r.URL.Query()
	out := reportQuery{format: q.Get("format"), table: q.Get("table")}
	if out.format == "" {
		out.format = formatJSON
	}
	if _, ok := reportContentTypes[out.format]; !ok {
		return out, badInput("format", "format %q is not one of json, csv, md, html", out.format)
	}
	switch {
	case out.table == "" && out.format == formatCSV:
		out.table = tableSteps
	case out.table == "":
	case out.format != formatCSV:
		return out, badInput("table", "table applies only to format=csv")
	case out.table != tableSteps && out.table != tableComps:
		return out, badInput("table", "table %q is not one of steps, comps", out.table)
	}
	return out, nil
}

// getReport handles GET /runs/{id}/report: the run's report in the asked
// format. Another organization's run is not found, as with GET /runs/{id}.
// table=comps of a run without a succeeded CMA step is NOT_FOUND on table:
// the run exists, the table does not.
func (h *Handler) getReport(w http.ResponseWriter, r *http.Request) {
	id, err := parseIDString("id", r.PathValue("id"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	rq, err := parseReportQuery(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	rep, err := report.Load(r.Context(), h.client, id, h.now())
	if errors.Is(err, report.ErrNotFound) {
		h.writeError(w, r, newError(errcode.NotFound, "id", "run not found"))
		return
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// Rendered whole before the status goes out, so that a failure is a
	// clean INTERNAL rather than half a document behind a 200.
	var body bytes.Buffer
	filename := fmt.Sprintf("run-%d-report", id)
	disposition := "inline"
	switch {
	case rq.format == formatJSON:
		err = report.WriteJSON(&body, rep)
		filename += ".json"
	case rq.format == formatMarkdown:
		err = report.WriteMarkdown(&body, rep)
		filename += ".md"
	case rq.format == formatHTML:
		err = h.html.Write(&body, rep)
		filename += ".html"
		w.Header().Set("Content-Security-Policy", reportCSP)
	case rq.table == tableComps:
		err = report.WriteCompsCSV(&body, rep)
		filename, disposition = fmt.Sprintf("run-%d-comps.csv", id), "attachment"
	default:
		err = report.WriteStepsCSV(&body, rep)
		filename, disposition = fmt.Sprintf("run-%d-steps.csv", id), "attachment"
	}
	if errors.Is(err, report.ErrNoCMA) {
		h.writeError(w, r, newError(errcode.NotFound, "table", "run %d has no CMA output, so no comps table: its CMA step has not succeeded", id))
		return
	}
	if err != nil {
		h.writeError(w, r, fmt.Errorf("rendering run %d's %s report: %w", id, rq.format, err))
		return
	}
	w.Header().Set("Content-Type", reportContentTypes[rq.format])
	w.Header().Set("Content-Disposition", fmt.Sprintf("%s; filename=%q", disposition, filename))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body.Bytes())
}
