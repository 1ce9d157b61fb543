package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/estateflow/estateflow/httpserver"
	"github.com/estateflow/estateflow/internal/errcode"
)

// The two media types of a GraphQL over HTTP response.
const (
	mediaJSON            = "application/json"
	mediaGraphQLResponse = "application/graphql-response+json"
)

// responseMediaType is the media type of the response to r.
func responseMediaType(r *http.Request) string { return httpserver.GraphQLResponseType(r) }

// httpTransport serves queries and mutations over GET and POST
// (application/json), as the GraphQL over HTTP specification asks; gqlgen's
// own GET and POST transports answer some refusals without a code, with
// 422, or with "data": null where the specification wants no data entry.
//
// Status codes:
//   - a request that is not a GraphQL request (no query, parameters of the
//     wrong type): 400;
//   - a request error (parse, validation, variable coercion, the server's
//     limits): 200 with application/json, 400 with
//     application/graphql-response+json, and no data entry either way;
//   - a mutation over GET: 405 with Allow: POST;
//   - a subscription: refused with UNSUPPORTED_TRANSPORT, as a request
//     error: its events need a websocket or SSE;
//   - an executed operation: 200, whatever its field errors.
type httpTransport struct{}

var _ graphql.Transport = httpTransport{}

// Supports implements graphql.Transport.
func (httpTransport) Supports(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" {
		return false
	}
	return r.Method == http.MethodGet || (r.Method == http.MethodPost && hasContentType(r, mediaJSON))
}

// Do implements graphql.Transport.
func (httpTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media := responseMediaType(r)
	params, perr := requestParams(r)
	if perr != nil {
		writeErrors(w, media, http.StatusBadRequest, gqlerror.List{perr})
		return
	}
	ctx := r.Context()
	oc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		writeRequestErrors(w, media, exec.DispatchError(graphql.WithOperationContext(ctx, oc), errs).Errors)
		return
	}
	if refusal, status := refuseOperation(r, oc.Operation); refusal != nil {
		if status == 0 {
			writeRequestErrors(w, media, gqlerror.List{refusal})
		} else {
			writeErrors(w, media, status, gqlerror.List{refusal})
		}
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, oc)
	writeResponse(w, media, http.StatusOK, responses(ctx))
}

// refuseOperation refuses what plain HTTP cannot serve: a mutation over GET
// (with its status, 405) and a subscription (a request error: status 0).
func refuseOperation(r *http.Request, op *ast.OperationDefinition) (*gqlerror.Error, int) {
	switch {
	case op.Operation == ast.Subscription:
		return codedError(errcode.UnsupportedTransport, "",
			"a subscription streams its events: open a websocket (graphql-transport-ws) or POST it with Accept: text/event-stream (SSE)"), 0
	case r.Method == http.MethodGet && op.Operation != ast.Query:
		return codedError(errcode.UnsupportedTransport, "", "GET only runs queries: send a %s with POST", op.Operation), http.StatusMethodNotAllowed
	}
	return nil, 0
}

// requestParams reads a GraphQL request: a GET's URL parameters (variables
// and extensions as JSON text) or a POST's JSON body.
func requestParams(r *http.Request) (*graphql.RawParams, *gqlerror.Error) {
	params := &graphql.RawParams{Headers: r.Header}
	params.ReadTime.Start = graphql.Now()
	if r.Method == http.MethodGet {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, badInput("", "the URL's query string is malformed")
		}
		params.Query, params.OperationName = q.Get("query"), q.Get("operationName")
		for name, into := range map[string]*map[string]any{"variables": &params.Variables, "extensions": &params.Extensions} {
			if text := q.Get(name); text != "" {
				if err := decodeJSON(strings.NewReader(text), into); err != nil {
					return nil, badInput(name, "%s must be a JSON object", name)
				}
			}
		}
	} else {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, badInput("", "could not read the request body")
		}
		if err := decodeJSON(bytes.NewReader(body), params); err != nil {
			// httpserver.GraphQLBody refuses most such bodies first.
			return nil, badInput("", "the request body is not a GraphQL request: an object whose query and operationName are strings and whose variables and extensions are objects")
		}
	}
	params.ReadTime.End = graphql.Now()
	if params.Query == "" && params.Extensions["persistedQuery"] == nil {
		return nil, badInput("query", "the request has no query")
	}
	return params, nil
}

// decodeJSON decodes numbers as json.Number, as gqlgen's scalars expect.
func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

func hasContentType(r *http.Request, want string) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == want
}

// writeRequestErrors answers a request error: one raised before execution,
// so the response has no data entry.
func writeRequestErrors(w http.ResponseWriter, media string, errs gqlerror.List) {
	status := http.StatusOK
	if media == mediaGraphQLResponse {
		status = http.StatusBadRequest
	}
	writeErrors(w, media, status, errs)
}

// writeErrors writes a response that carries errors and no data entry.
func writeErrors(w http.ResponseWriter, media string, status int, errs gqlerror.List) {
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Errors gqlerror.List `json:"errors"`
	}{errs})
}

func writeResponse(w http.ResponseWriter, media string, status int, resp *graphql.Response) {
	b, err := json.Marshal(resp)
	if err != nil {
		// Resolvers return JSON-safe values; the presenter turns this into INTERNAL.
		panic(fmt.Errorf("graph: encoding a response: %w", err))
	}
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	if secs := retryAfter(resp.Errors); secs > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// retryAfter is the longest extensions.retryAfter among errs (a refusal
// that says when to try again, such as startRun's RATE_LIMITED), or 0.
func retryAfter(errs gqlerror.List) int {
	longest := 0
	for _, e := range errs {
		if secs, ok := e.Extensions[retryAfterExtension].(int); ok && secs > longest {
			longest = secs
		}
	}
	return longest
}

// refusingTransport answers every request that no other transport took:
// a POST that is not application/json, a PUT with a body, another method.
type refusingTransport struct{}

var _ graphql.Transport = refusingTransport{}

// Supports implements graphql.Transport.
func (refusingTransport) Supports(*http.Request) bool { return true }

// Do implements graphql.Transport.
func (refusingTransport) Do(w http.ResponseWriter, r *http.Request, _ graphql.GraphExecutor) {
	media := responseMediaType(r)
	switch r.Method {
	case http.MethodPost:
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			ct = "none"
		}
		writeErrors(w, media, http.StatusUnsupportedMediaType, gqlerror.List{codedError(errcode.UnsupportedTransport, "Content-Type",
			"POST a GraphQL request as application/json (Content-Type was %s)", ct)})
	case http.MethodPut:
		w.Header().Set("Allow", allowedMethods)
		writeErrors(w, media, http.StatusMethodNotAllowed, gqlerror.List{codedError(errcode.UnsupportedTransport, "",
			"PUT reserves an SSE stream (graphql-sse) and takes no body; send operations with POST")})
	default:
		w.Header().Set("Allow", allowedMethods)
		writeErrors(w, media, http.StatusMethodNotAllowed, gqlerror.List{codedError(errcode.UnsupportedTransport, "",
			"/graphql takes GET and POST (application/json), websockets, and SSE (POST with Accept: text/event-stream, or graphql-sse's PUT, GET and DELETE with a stream token); not %s", r.Method)})
	}
}

const allowedMethods = "GET, POST, PUT, DELETE, OPTIONS"
