package report

import "strconv"

// HTMLURL is the relative URL of run id's HTML report on the REST API
// (GET /api/v1/runs/{id}/report), as GraphQL's Run.reportUrl gives it.
func HTMLURL(id int) string {
	return "/api/v1/runs/" + strconv.Itoa(id) + "/report?format=html"
}
