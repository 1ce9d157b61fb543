package httpserver_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/httpserver"
)

func TestAccessLog(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		method     string
		target     string
		handler    http.HandlerFunc
		wantPath   string
		wantStatus int
		wantBytes  int
	}{
		{
			name: "implicit 200", method: http.MethodGet, target: "/healthz",
			handler:  func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") },
			wantPath: "/healthz", wantStatus: 200, wantBytes: 3,
		},
		{
			name: "explicit status", method: http.MethodPost, target: "/graphql",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusTeapot)
				_, _ = io.WriteString(w, "short")
				_, _ = io.WriteString(w, " and stout")
			},
			wantPath: "/graphql", wantStatus: 418, wantBytes: 15,
		},
		{
			name: "nothing written", method: http.MethodDelete, target: "/api/v1/x",
			handler:  func(http.ResponseWriter, *http.Request) {},
			wantPath: "/api/v1/x", wantStatus: 200, wantBytes: 0,
		},
		{
			// Tokens and personal data passed in a query string stay out
			// of the log: only the path is recorded.
			name: "query string", method: http.MethodGet, target: "/api/v1/contacts?token=s3cr3t-token&email=ana%40example.com",
			handler:  func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) },
			wantPath: "/api/v1/contacts", wantStatus: 404, wantBytes: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logger, logs := newLogger()
			handler := tt.handler
			const delay = 20 * time.Millisecond
			slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(delay)
				handler(w, r)
			})
			h := httpserver.RequestID(httpserver.AccessLog(logger)(slow))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))

			recs := logs.records(t, "http request")
			if len(recs) != 1 {
				t.Fatalf("%d access-log records, want 1; log:\n%s", len(recs), logs)
			}
			r := recs[0]
			if r["level"] != "INFO" || r["method"] != tt.method || r["path"] != tt.wantPath ||
				r["status"] != float64(tt.wantStatus) || r["bytes"] != float64(tt.wantBytes) {
				t.Errorf("record %v; want method %s, path %s, status %d, bytes %d", r, tt.method, tt.wantPath, tt.wantStatus, tt.wantBytes)
			}
			if got := r["request_id"]; got == "" || got != rec.Header().Get("X-Request-ID") {
				t.Errorf("request_id %v, response X-Request-ID %q", got, rec.Header().Get("X-Request-ID"))
			}
			// slog's JSON handler writes a duration in nanoseconds.
			if d, ok := r["duration"].(float64); !ok || time.Duration(d) < delay {
				t.Errorf("duration %v, want at least %v", r["duration"], delay)
			}
			for _, secret := range []string{"s3cr3t", "ana%40example.com", "ana@example.com", "token="} {
				if strings.Contains(logs.String(), secret) {
					t.Errorf("the log carries %q:\n%s", secret, logs)
				}
			}
		})
	}
}

// Server-sent events flush through the access log's response writer, and
// websockets hijack through it.
func TestAccessLogPassesThroughFlushAndHijack(t *testing.T) {
	t.Parallel()
	t.Run("flush", func(t *testing.T) {
		t.Parallel()
		logger, _ := newLogger()
		flushed := make(chan struct{})
		h := httpserver.AccessLog(logger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "data: first\n\n")
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("flush: %v", err)
			}
			<-flushed // the client has read the event before the handler returns
		}))
		srv := httptest.NewServer(h)
		defer srv.Close()
		resp, err := http.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		close(flushed)
		if err != nil || line != "data: first\n" {
			t.Fatalf("read %q, %v before the handler ended", line, err)
		}
	})
	t.Run("hijack", func(t *testing.T) {
		t.Parallel()
		logger, logs := newLogger()
		logged := make(chan struct{})
		hijacking := httpserver.AccessLog(logger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			defer conn.Close()
			_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\nhello")
			_ = brw.Flush()
		}))
		// The server does not wait for hijacked connections' handlers.
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer close(logged)
			hijacking.ServeHTTP(w, r)
		})
		srv := httptest.NewServer(h)
		defer srv.Close()
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n")
		got, _ := io.ReadAll(conn)
		if !bytes.HasPrefix(got, []byte("HTTP/1.1 101 ")) || !bytes.HasSuffix(got, []byte("hello")) {
			t.Fatalf("client read %q", got)
		}
		<-logged
		recs := logs.records(t, "http request")
		if len(recs) != 1 || recs[0]["status"] != float64(http.StatusSwitchingProtocols) {
			t.Fatalf("records %v, want one with status 101", recs)
		}
	})
}

func TestRecover(t *testing.T) {
	t.Parallel()
	const secret = "pq: password authentication failed for user estateflow_prod"
	tests := []struct {
		name  string
		value any
	}{
		{"string", secret},
		{"error", errors.New(secret)},
		{"formatted value", fmt.Sprintf("index out of range: %s", secret)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logger, logs := newLogger()
			panicking := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(tt.value) })
			h := httpserver.RequestID(httpserver.AccessLog(logger)(httpserver.Recover(logger)(panicking)))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(`{"query":"{a}"}`)))

			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status %d, want 500", rec.Code)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			body := rec.Body.String()
			gqlErr := decodeGraphQLError(t, rec.Body.Bytes())
			if gqlErr.Extensions.Code != "INTERNAL" {
				t.Errorf("code %q, want INTERNAL", gqlErr.Extensions.Code)
			}
			for _, leak := range []string{"password", "estateflow_prod", "goroutine", ".go:", "panic"} {
				if strings.Contains(body, leak) {
					t.Errorf("body %s carries %q", body, leak)
				}
			}

			recs := logs.records(t, "http: panic")
			if len(recs) != 1 {
				t.Fatalf("%d panic records, want 1; log:\n%s", len(recs), logs)
			}
			r := recs[0]
			if r["level"] != "ERROR" || !strings.Contains(fmt.Sprint(r["panic"]), secret) {
				t.Errorf("panic record %v does not carry the panic value", r)
			}
			if stack, _ := r["stack"].(string); !strings.Contains(stack, "goroutine") || !strings.Contains(stack, "middleware_test.go") {
				t.Errorf("panic record's stack %q does not point at the handler", stack)
			}
			if access := logs.records(t, "http request"); len(access) != 1 || access[0]["status"] != float64(500) {
				t.Errorf("access log %v, want one record with status 500", access)
			}
		})
	}
}

// http.ErrAbortHandler is how a handler asks net/http to drop the
// connection; Recover lets it through instead of answering 500.
func TestRecoverLetsErrAbortHandlerThrough(t *testing.T) {
	t.Parallel()
	logger, logs := newLogger()
	h := httpserver.Recover(logger)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = nil
	srv.Start()
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got a %d response, want the connection dropped", resp.StatusCode)
	}
	if recs := logs.records(t, "http: panic"); len(recs) != 0 {
		t.Fatalf("an aborted handler was logged as a panic: %v", recs)
	}
}

func TestGraphQLBody(t *testing.T) {
	t.Parallel()
	const limit = 100
	pad := func(prefix string, n int) string { // a JSON object of exactly n bytes
		return prefix + strings.Repeat(" ", n-len(prefix)-1) + "}"
	}
	tests := []struct {
		name        string
		method      string
		contentType string
		body        io.Reader
		wantStatus  int    // 0: passed on to the next handler
		wantMessage string // a part of the refusal's message
	}{
		{name: "a query", method: "POST", contentType: "application/json", body: strings.NewReader(`{"query":"{ me { id } }"}`)},
		{name: "every field", method: "POST", contentType: "application/json; charset=utf-8",
			body: strings.NewReader(`{"query":"q","operationName":"Op","variables":{"a":1},"extensions":{}}`)},
		{name: "null variables", method: "POST", contentType: "application/json", body: strings.NewReader(`{"query":"q","variables":null}`)},
		{name: "exactly the limit", method: "POST", contentType: "application/json", body: strings.NewReader(pad(`{"query":"q"`, limit))},
		{name: "one byte over the limit", method: "POST", contentType: "application/json", body: strings.NewReader(pad(`{"query":"q"`, limit+1)),
			wantStatus: 413, wantMessage: "larger than 100 bytes"},
		{name: "over the limit whatever the type", method: "POST", contentType: "multipart/form-data; boundary=x", body: strings.NewReader(strings.Repeat("x", 10*limit)),
			wantStatus: 413, wantMessage: "larger than 100 bytes"},
		{name: "invalid JSON", method: "POST", contentType: "application/json", body: strings.NewReader(`{"query":`),
			wantStatus: 400, wantMessage: "not valid JSON"},
		{name: "invalid JSON as graphql-response+json", method: "POST", contentType: "application/graphql-response+json", body: strings.NewReader(`{query}`),
			wantStatus: 400, wantMessage: "not valid JSON"},
		{name: "empty JSON body", method: "POST", contentType: "application/json", body: strings.NewReader(``),
			wantStatus: 400, wantMessage: "not valid JSON"},
		{name: "a batch", method: "POST", contentType: "application/json", body: strings.NewReader(`[{"query":"q"}]`),
			wantStatus: 400, wantMessage: "not a GraphQL request"},
		{name: "a string", method: "POST", contentType: "application/json", body: strings.NewReader(`"{ me { id } }"`),
			wantStatus: 400, wantMessage: "not a GraphQL request"},
		{name: "query is a number", method: "POST", contentType: "application/json", body: strings.NewReader(`{"query":5}`),
			wantStatus: 400, wantMessage: "not a GraphQL request"},
		{name: "operationName is an object", method: "POST", contentType: "application/json", body: strings.NewReader(`{"query":"q","operationName":{}}`),
			wantStatus: 400, wantMessage: "not a GraphQL request"},
		{name: "variables is a list", method: "POST", contentType: "application/json", body: strings.NewReader(`{"query":"q","variables":[1]}`),
			wantStatus: 400, wantMessage: "not a GraphQL request"},
		{name: "variables is a string", method: "POST", contentType: "application/json", body: strings.NewReader(`{"query":"q","variables":"{\"a\":1}"}`),
			wantStatus: 400, wantMessage: "not a GraphQL request"},
		{name: "extensions is a number", method: "POST", contentType: "application/json", body: strings.NewReader(`{"query":"q","extensions":1}`),
			wantStatus: 400, wantMessage: "not a GraphQL request"},
		{name: "unreadable body", method: "POST", contentType: "application/json", body: io.MultiReader(strings.NewReader(`{"qu`), failingReader{}),
			wantStatus: 400, wantMessage: "could not read"},
		// Only JSON bodies are checked for shape; gqlgen answers other
		// content types itself.
		{name: "other content type", method: "POST", contentType: "text/plain", body: strings.NewReader(`not json`)},
		{name: "GET is not read", method: "GET", body: strings.NewReader(strings.Repeat("x", 10*limit))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var sent []byte
			if r, ok := tt.body.(*strings.Reader); ok {
				sent, _ = io.ReadAll(r)
				_, _ = r.Seek(0, io.SeekStart)
			}
			var (
				called   bool
				received []byte
				length   int64
			)
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				received, _ = io.ReadAll(r.Body)
				length = r.ContentLength
			})
			req := httptest.NewRequest(tt.method, "/graphql", tt.body)
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			rec := httptest.NewRecorder()
			httpserver.GraphQLBody(limit)(next).ServeHTTP(rec, req)

			if tt.wantStatus == 0 {
				if !called {
					t.Fatalf("refused with %d: %s", rec.Code, rec.Body)
				}
				if !bytes.Equal(received, sent) {
					t.Fatalf("next handler read %q, want %q", received, sent)
				}
				if tt.method == http.MethodPost && length != int64(len(sent)) {
					t.Fatalf("ContentLength %d, want %d", length, len(sent))
				}
				return
			}
			if called {
				t.Fatal("the next handler ran for a refused body")
			}
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			gqlErr := decodeGraphQLError(t, rec.Body.Bytes())
			if gqlErr.Extensions.Code != "BAD_USER_INPUT" || !strings.Contains(gqlErr.Message, tt.wantMessage) {
				t.Fatalf("error %+v, want code BAD_USER_INPUT and a message with %q", gqlErr, tt.wantMessage)
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

func TestWriteGraphQLError(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	httpserver.WriteGraphQLError(rec, http.StatusForbidden, "FORBIDDEN", `not "yours"`)
	if rec.Code != http.StatusForbidden || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if got := decodeGraphQLError(t, rec.Body.Bytes()); got.Message != `not "yours"` || got.Extensions.Code != "FORBIDDEN" {
		t.Fatalf("error %+v", got)
	}
}
