package httpserver_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/estateflow/estateflow/httpserver"
)

func TestParseOrigins(t *testing.T) {
	t.Parallel()
	tests := []struct {
		list string
		want []string
	}{
		{"", nil},
		{" , ,", nil},
		{"https://app.example.com", []string{"https://app.example.com"}},
		{" https://app.example.com/ ,https://admin.example.com:8443//,", []string{"https://app.example.com", "https://admin.example.com:8443"}},
		{"*", []string{"*"}},
	}
	for _, tt := range tests {
		t.Run(tt.list, func(t *testing.T) {
			t.Parallel()
			if got := httpserver.ParseOrigins(tt.list).Allowed; !slices.Equal(got, tt.want) {
				t.Fatalf("ParseOrigins(%q) = %q, want %q", tt.list, got, tt.want)
			}
		})
	}
}

func TestOriginsAllows(t *testing.T) {
	t.Parallel()
	listed := httpserver.ParseOrigins("https://app.example.com, https://admin.example.com:8443/")
	any := httpserver.ParseOrigins("*")
	tests := []struct {
		origins httpserver.Origins
		origin  string
		want    bool
	}{
		{listed, "https://app.example.com", true},
		{listed, "https://admin.example.com:8443", true},
		{listed, "http://app.example.com", false},      // another scheme
		{listed, "https://app.example.com:444", false}, // another port
		{listed, "https://evil.example.com", false},
		{listed, "https://app.example.com.evil.com", false},
		// Pages served from this machine, as a frontend in development.
		{listed, "http://localhost:5173", true},
		{listed, "http://localhost", true},
		{listed, "http://127.0.0.1:8080", true},
		{listed, "http://[::1]:3000", true},
		{httpserver.Origins{}, "http://localhost:3000", true},
		{listed, "http://localhost.evil.com", false},
		{listed, "http://127.0.0.1.nip.io", false},
		{listed, "null", false}, // sandboxed iframes and file:// pages
		{listed, "", false},
		{httpserver.Origins{}, "https://app.example.com", false},
		{any, "https://anything.example.org", true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.origins.Allowed, ",")+" "+tt.origin, func(t *testing.T) {
			t.Parallel()
			if got := tt.origins.Allows(tt.origin); got != tt.want {
				t.Fatalf("Allows(%q) = %v, want %v", tt.origin, got, tt.want)
			}
		})
	}
}

func TestOriginsWebsocketPatterns(t *testing.T) {
	t.Parallel()
	loopback := []string{"localhost", "localhost:*", "127.0.0.1", "127.0.0.1:*", "[::1]", "[::1]:*"}
	tests := []struct {
		list string
		want []string
	}{
		{"", loopback},
		{"https://app.example.com, https://admin.example.com:8443", append(slices.Clone(loopback), "app.example.com", "admin.example.com:8443")},
		{"https://app.example.com,*", []string{"*"}},
		// Not an origin: it allows no browser page (see Allows), so it
		// allows no websocket either.
		{"app.example.com", loopback},
	}
	for _, tt := range tests {
		t.Run(tt.list, func(t *testing.T) {
			t.Parallel()
			if got := httpserver.ParseOrigins(tt.list).WebsocketPatterns(); !slices.Equal(got, tt.want) {
				t.Fatalf("WebsocketPatterns() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	origins := httpserver.ParseOrigins("https://app.example.com")
	tests := []struct {
		name    string
		method  string
		origin  string
		headers map[string]string
		// want: whether the response allows the origin.
		want bool
		// preflight: whether it is answered by CORS, without the handler.
		preflight bool
	}{
		{name: "allowed origin", method: "POST", origin: "https://app.example.com", want: true},
		{name: "loopback origin", method: "GET", origin: "http://localhost:5173", want: true},
		{name: "denied origin", method: "POST", origin: "https://evil.example.com"},
		{name: "no origin", method: "POST"},
		{name: "preflight", method: "OPTIONS", origin: "https://app.example.com", want: true, preflight: true,
			headers: map[string]string{
				"Access-Control-Request-Method": "POST",
				// As browsers send it (the Fetch standard): lowercase,
				// sorted, no spaces.
				"Access-Control-Request-Headers": "authorization,content-type,idempotency-key,x-request-id",
			}},
		{name: "preflight from a denied origin", method: "OPTIONS", origin: "https://evil.example.com", preflight: true,
			headers: map[string]string{"Access-Control-Request-Method": "POST"}},
		{name: "preflight for a method not allowed", method: "OPTIONS", origin: "https://app.example.com", preflight: true,
			headers: map[string]string{"Access-Control-Request-Method": "DELETE"}},
		{name: "preflight for a header not allowed", method: "OPTIONS", origin: "https://app.example.com", preflight: true,
			headers: map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-forwarded-user"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var called bool
			h := httpserver.CORS(origins)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				w.Header().Set("X-Request-ID", "abc")
			}))
			req := httptest.NewRequest(tt.method, "/graphql", nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header()

			if called == tt.preflight {
				t.Fatalf("handler called: %v, for a preflight: %v", called, tt.preflight)
			}
			allowOrigin := got.Get("Access-Control-Allow-Origin")
			if !tt.want {
				if allowOrigin != "" || got.Get("Access-Control-Allow-Methods") != "" || got.Get("Access-Control-Expose-Headers") != "" {
					t.Fatalf("CORS headers for a refused request: %v", got)
				}
				return
			}
			if allowOrigin != tt.origin {
				t.Fatalf("Access-Control-Allow-Origin %q, want %q", allowOrigin, tt.origin)
			}
			if got.Get("Access-Control-Allow-Credentials") != "" {
				t.Error("credentials allowed: API tokens travel in Authorization, never in cookies")
			}
			if !slices.Contains(got.Values("Vary"), "Origin") && !strings.Contains(strings.Join(got.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary %q lacks Origin: a cache would serve one origin's answer to another", got.Values("Vary"))
			}
			if tt.preflight {
				if rec.Code != http.StatusNoContent {
					t.Errorf("preflight status %d, want 204", rec.Code)
				}
				if m := got.Get("Access-Control-Allow-Methods"); m != "POST" {
					t.Errorf("Access-Control-Allow-Methods %q", m)
				}
				allowed := strings.ToLower(got.Get("Access-Control-Allow-Headers"))
				for _, h := range []string{"content-type", "authorization", "x-request-id", "idempotency-key"} {
					if !strings.Contains(allowed, h) {
						t.Errorf("Access-Control-Allow-Headers %q lacks %s", allowed, h)
					}
				}
				if age := got.Get("Access-Control-Max-Age"); age != "600" {
					t.Errorf("Access-Control-Max-Age %q, want 600", age)
				}
				return
			}
			exposed := strings.ToLower(got.Get("Access-Control-Expose-Headers"))
			for _, h := range []string{"x-request-id", "location"} {
				if !strings.Contains(exposed, h) {
					t.Errorf("Access-Control-Expose-Headers %q lacks %s", exposed, h)
				}
			}
		})
	}
}
