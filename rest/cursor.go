package rest

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"

	"github.com/estateflow/estateflow/ent/run"
)

// Page sizes of GET /runs.
const (
	defaultLimit = 20
	maxLimit     = 100
)

// cursorPrefix versions the cursor's content, which clients must treat as
// opaque: the ID of the last run of the page before.
const cursorPrefix = "run:"

// listQuery is what GET /runs was asked for.
type listQuery struct {
	limit    int
	after    int // runs older than this ID; 0 for the first page
	statuses []run.Status
}

// parseListQuery reads ?limit=, ?cursor= and ?status= (repeated, or
// comma-separated: RUNNING,QUEUED).
func parseListQuery(q url.Values) (listQuery, error) {
	out := listQuery{limit: defaultLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return out, badInput("limit", "limit must be a whole number from 1 to %d", maxLimit)
		}
		out.limit = n
	}
	if s := q.Get("cursor"); s != "" {
		id, ok := decodeCursor(s)
		if !ok {
			return out, badInput("cursor", "cursor is not one this API returned: pass nextCursor as it came")
		}
		out.after = id
	}
	seen := map[run.Status]bool{}
	for _, list := range q["status"] {
		for _, s := range strings.Split(list, ",") {
			st := run.Status(strings.TrimSpace(s))
			if err := run.StatusValidator(st); err != nil {
				return out, badInput("status", "status %q is not one of %s", s, statusNames())
			}
			if !seen[st] {
				seen[st] = true
				out.statuses = append(out.statuses, st)
			}
		}
	}
	return out, nil
}

func statusNames() string { return strings.Join(statusList(), ", ") }

// statusList names every run status, for messages and the OpenAPI document.
func statusList() []string {
	names := make([]string, 0, 6)
	for _, st := range []run.Status{run.StatusQUEUED, run.StatusRUNNING, run.StatusSUCCEEDED, run.StatusFAILED, run.StatusCANCELING, run.StatusCANCELED} {
		names = append(names, st.String())
	}
	return names
}

func encodeCursor(lastID int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.Itoa(lastID)))
}

func decodeCursor(s string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(b), cursorPrefix)
	if !ok {
		return 0, false
	}
	id, err := parseIDString("cursor", rest)
	if err != nil {
		return 0, false
	}
	return id, true
}
