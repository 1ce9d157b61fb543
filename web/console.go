package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed console
var console embed.FS

// ConsolePath is where ConsoleHandler expects to be mounted.
const ConsolePath = "/app/"

// consoleCSP keeps the console to its own origin: its scripts, styles and
// API calls (HTTP and websocket) all go to the server that served it, and
// nothing is loaded from anywhere else.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// ConsoleHandler serves the console, a single page written in plain ES
// modules, from the files embedded in the binary: no build step, nothing
// fetched from the internet. /app redirects to /app/.
func ConsoleHandler() http.Handler {
	sub, err := fs.Sub(console, "console")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix(ConsolePath, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/app" {
			http.Redirect(w, r, ConsolePath, http.StatusMovedPermanently)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", consoleCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// The files change with the binary, which browsers cannot tell:
		// they revalidate (the embedded files have no modification time, so
		// this costs a full response, a few tens of kilobytes).
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
