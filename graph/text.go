package graph

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"

	"github.com/estateflow/estateflow/internal/jsontext"
)

// malformedTextRefusal is a transport that answers 400 BAD_USER_INPUT,
// naming the input, for a request whose text holds invalid UTF-8 or a lone
// surrogate escape, which gqlgen's JSON decoding and gqlparser would
// otherwise replace with U+FFFD and store. Added before the other
// transports, it claims only those requests. It reads JSON POST bodies
// (the SSE transport's too) and GET's query, variables and extensions
// parameters. Websocket messages are not checked: they arrive after the
// upgrade, inside gqlgen's websocket transport.
type malformedTextRefusal struct{}

var _ graphql.Transport = malformedTextRefusal{}

func (malformedTextRefusal) Supports(r *http.Request) bool { return malformedText(r) != nil }

func (malformedTextRefusal) Do(w http.ResponseWriter, r *http.Request, _ graphql.GraphExecutor) {
	writeTextRefusal(w, malformedText(r))
}

func malformedText(r *http.Request) *jsontext.Problem {
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		if p := jsontext.CheckGraphQL(q.Get("query")); p != nil {
			p.Path = "query"
			return p
		}
		for _, name := range []string{"variables", "extensions"} {
			if p := jsontext.Check([]byte(q.Get(name))); p != nil {
				p.Path = strings.TrimSuffix(name+"."+p.Path, ".")
				return p
			}
		}
		return nil
	}
	if r.Body == nil || r.Body == http.NoBody || !strings.Contains(r.Header.Get("Content-Type"), "json") {
		return nil
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		// gqlgen reports the failure (a body over the limit) as it would
		// have without this check.
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(raw), errReader{err}))
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if p := jsontext.Check(raw); p != nil {
		return p
	}
	// The document's own string literals: gqlparser turns a lone surrogate
	// escape into U+FFFD too.
	var params struct {
		Query string `json:"query"`
	}
	if json.Unmarshal(raw, &params) == nil {
		if p := jsontext.CheckGraphQL(params.Query); p != nil {
			p.Path = "query"
			return p
		}
	}
	return nil
}

// writeTextRefusal answers as for a body that is not well-formed JSON,
// which text that is not UTF-8 makes it (RFC 8259 §8.1). The field drops
// the "variables." prefix, as variable coercion errors do.
func writeTextRefusal(w http.ResponseWriter, p *jsontext.Problem) {
	field := strings.TrimPrefix(p.Path, "variables.")
	e := badInput(field, "%s", p.Error())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{e}})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
