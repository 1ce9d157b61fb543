package web

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

// TestConsoleFiles serves the console as the routes mount it and checks
// that it redirects /app, serves its page and modules with a strict CSP,
// and loads nothing from outside the binary: every module it imports is
// embedded, and no file names another origin.
func TestConsoleFiles(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /app", ConsoleHandler())
	mux.Handle("GET "+ConsolePath, ConsoleHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	get := func(p string) (*http.Response, string) {
		t.Helper()
		resp, err := client.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}

	if resp, _ := get("/app"); resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/app/" {
		t.Errorf("/app: %d to %q, want 301 to /app/", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page := get("/app/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `<script type="module" src="js/main.js">`) {
		t.Fatalf("/app/: %d %.200s", resp.StatusCode, page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("CSP %q", csp)
	}

	imports := regexp.MustCompile(`(?m)^import .* from '([^']+)';$`)
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	err := fs.WalkDir(console, "console", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := strings.TrimPrefix(p, "console/")
		if rel == "index.html" {
			rel = "" // http.FileServer serves it as the directory
		}
		resp, body := get(ConsolePath + rel)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", rel, resp.StatusCode)
		}
		if strings.HasSuffix(rel, ".js") && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("%s served as %q: browsers refuse modules that are not JavaScript", rel, resp.Header.Get("Content-Type"))
		}
		for _, m := range external.FindAllString(body, -1) {
			// The SVG namespace is a name, not something loaded.
			if m != "http://www.w3.org" {
				t.Errorf("%s names another origin: %s", rel, m)
			}
		}
		for _, m := range imports.FindAllStringSubmatch(body, -1) {
			target := path.Join(path.Dir(p), m[1])
			if _, err := fs.Stat(console, target); err != nil {
				t.Errorf("%s imports %s, which is not embedded", rel, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := get("/app/missing.js"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a missing file: %d", resp.StatusCode)
	}
}
