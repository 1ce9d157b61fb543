package httpserver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/internal/requestid"
)

// AccessLog logs one line per request. The logger adds the request ID from
// the context.
func AccessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			next.ServeHTTP(sw, r)
			logger.LogAttrs(r.Context(), slog.LevelInfo, "http request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", sw.status),
				slog.Int64("bytes", sw.bytes),
				slog.Duration("duration", time.Since(start)),
			)
		})
	}
}

// Recover turns a panic in a handler into a 500 and a logged stack trace,
// instead of a dropped connection.
func Recover(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					logger.ErrorContext(r.Context(), "http: panic", "panic", v, "stack", string(debug.Stack()))
					id, _ := requestid.FromContext(r.Context())
					WriteGraphQLError(w, http.StatusInternalServerError, errcode.Internal,
						fmt.Sprintf("internal error (request %s)", id))
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// GraphQLBody limits a POSTed GraphQL request to maxBytes and checks that a
// JSON body is well-formed and shaped as a GraphQL request. Every failure
// gets a GraphQL-shaped error with extensions.code, which gqlgen's own
// transport would not give.
func GraphQLBody(maxBytes int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.Body == nil {
				next.ServeHTTP(w, r)
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBytes))
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				WriteGraphQLErrorFor(w, r, http.StatusRequestEntityTooLarge, errcode.BadUserInput,
					fmt.Sprintf("request body is larger than %d bytes", maxBytes))
				return
			case err != nil:
				WriteGraphQLErrorFor(w, r, http.StatusBadRequest, errcode.BadUserInput, "could not read the request body")
				return
			}
			if isJSON(r.Header.Get("Content-Type")) {
				if !json.Valid(body) {
					WriteGraphQLErrorFor(w, r, http.StatusBadRequest, errcode.BadUserInput, "request body is not valid JSON")
					return
				}
				// gqlgen's SSE transport logs a body it cannot decode, in
				// full, with the standard library's log package: variables,
				// emails and phone numbers included. Such a body stops here.
				if !isGraphQLRequest(body) {
					WriteGraphQLErrorFor(w, r, http.StatusBadRequest, errcode.BadUserInput,
						"request body is not a GraphQL request: an object whose query and operationName are strings and whose variables and extensions are objects")
					return
				}
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			next.ServeHTTP(w, r)
		})
	}
}

// isGraphQLRequest reports whether a valid JSON body decodes into
// gqlgen's request parameters (graphql.RawParams) without error.
func isGraphQLRequest(body []byte) bool {
	var params struct {
		Query         *string         `json:"query"`
		OperationName *string         `json:"operationName"`
		Variables     json.RawMessage `json:"variables"`
		Extensions    json.RawMessage `json:"extensions"`
	}
	if err := json.Unmarshal(body, &params); err != nil {
		return false
	}
	return isObjectOrNull(params.Variables) && isObjectOrNull(params.Extensions)
}

func isObjectOrNull(raw json.RawMessage) bool {
	return len(raw) == 0 || raw[0] == '{' || string(raw) == "null"
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || mt == "application/graphql-response+json")
}

// WriteGraphQLError writes a GraphQL response that carries one error.
func WriteGraphQLError(w http.ResponseWriter, status int, code errcode.Code, message string) {
	writeGraphQLError(w, "application/json", status, code, message)
}

// WriteGraphQLErrorFor is WriteGraphQLError labelled with the media type
// that r's Accept header asks for (see GraphQLResponseType).
func WriteGraphQLErrorFor(w http.ResponseWriter, r *http.Request, status int, code errcode.Code, message string) {
	writeGraphQLError(w, GraphQLResponseType(r)+"; charset=utf-8", status, code, message)
}

// GraphQLResponseType picks the media type of a GraphQL response to r from
// its Accept header, in the client's order of preference, as GraphQL over
// HTTP asks: application/graphql-response+json when asked for,
// application/json otherwise (with no Accept, */*, or a list naming
// neither, which older clients send).
func GraphQLResponseType(r *http.Request) string {
	for part := range strings.SplitSeq(r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || params["q"] == "0" {
			continue
		}
		switch mt {
		case "application/graphql-response+json":
			return mt
		case "application/json", "application/*", "*/*":
			return "application/json"
		}
	}
	return "application/json"
}

func writeGraphQLError(w http.ResponseWriter, contentType string, status int, code errcode.Code, message string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{
			"message":    message,
			"extensions": map[string]any{"code": code},
		}},
	})
}

// statusWriter remembers the status and size of a response for the access
// log. It passes through Flush and Hijack, which SSE and websockets need.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("httpserver: response writer cannot be hijacked")
	}
	w.status = http.StatusSwitchingProtocols
	return h.Hijack()
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
