package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/internal/requestid"
	"github.com/estateflow/estateflow/modules/marketing"
)

// UnsubscribePath is where unsubscribe links point: UnsubscribePath + token.
const UnsubscribePath = "/u/"

// maxUnsubscribeBody bounds a one-click POST's body, which RFC 8058 fixes
// as "List-Unsubscribe=One-Click".
const maxUnsubscribeBody = 4 << 10

// UnsubscribeHandler serves the public unsubscribe links, with no API
// token: GET /u/{token} shows a confirmation page with a button, and
// changes nothing (mail scanners fetch links); POST /u/{token} is RFC
// 8058's one-click unsubscribe (the page's button posts the same form): it
// turns the client's email consent off and cancels their pending emails in
// one transaction. A reused token answers 200 again. A token that is not
// ours answers 404 NOT_FOUND, whatever the reason, so that nobody can probe
// for clients. tx (the engine) opens the POST's transaction, which also
// writes the EMAIL_UNSUBSCRIBED webhooks.
func UnsubscribeHandler(db *ent.Client, tx marketing.Transactor, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The token is a credential in the URL: keep it out of referrers,
		// caches and search engines; the page runs no script.
		h := w.Header()
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Robots-Tag", "noindex")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		token := r.PathValue("token")
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			target, _, err := marketing.ResolveUnsubscribe(r.Context(), db, token)
			if err != nil {
				unsubscribeError(w, r, logger, err)
				return
			}
			writePage(w, http.StatusOK, confirmPage, pageData{Brokerage: target.Brokerage})
		case http.MethodPost:
			// The body's content does not matter (one-click clients send
			// the RFC's form; some send nothing), but it is read, within a
			// bound, so that the connection can be reused.
			if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, maxUnsubscribeBody)); err != nil {
				writeUnsubscribeError(w, r, http.StatusRequestEntityTooLarge, errcode.BadUserInput, "the request body is too large")
				return
			}
			res, err := marketing.Unsubscribe(r.Context(), db, tx, token)
			if err != nil {
				unsubscribeError(w, r, logger, err)
				return
			}
			logger.InfoContext(r.Context(), "client unsubscribed from email", "org_id", res.OrgID, "client_id", res.ClientID,
				"already_off", res.AlreadyOff, "canceled_emails", res.Canceled)
			if wantsJSON(r) {
				writeJSON(w, http.StatusOK, map[string]any{"unsubscribed": true, "canceledEmails": res.Canceled})
				return
			}
			writePage(w, http.StatusOK, donePage, pageData{Brokerage: res.Brokerage})
		default:
			h.Set("Allow", "GET, HEAD, POST")
			writeUnsubscribeError(w, r, http.StatusMethodNotAllowed, errcode.UnsupportedTransport, "use GET to see the page or POST to unsubscribe")
		}
	})
}

func unsubscribeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	if errors.Is(err, marketing.ErrBadToken) {
		writeUnsubscribeError(w, r, http.StatusNotFound, errcode.NotFound, "this unsubscribe link is not valid; copy the whole link from the email")
		return
	}
	logger.ErrorContext(r.Context(), "unsubscribe failed", "err", err)
	msg := "internal error; please try again later"
	if id, ok := requestid.FromContext(r.Context()); ok {
		msg = "internal error (request " + id + "); please try again later"
	}
	writeUnsubscribeError(w, r, http.StatusInternalServerError, errcode.Internal, msg)
}

// writeUnsubscribeError answers in the REST API's error shape, or with a
// page carrying the same code for a browser.
func writeUnsubscribeError(w http.ResponseWriter, r *http.Request, status int, code errcode.Code, message string) {
	if wantsJSON(r) {
		writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": message}})
		return
	}
	writePage(w, status, errorPage, pageData{Code: string(code), Message: message})
}

// wantsJSON is true unless the client asks for HTML (a browser).
func wantsJSON(r *http.Request) bool {
	return !strings.Contains(r.Header.Get("Accept"), "text/html")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

type pageData struct {
	Brokerage, Code, Message string
}

func writePage(w http.ResponseWriter, status int, t *template.Template, d pageData) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, d); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// The pages are self-contained: no script, no external asset.
const pageHead = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{block "title" .}}{{end}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222;line-height:1.5}
button{font-size:1rem;padding:.6rem 1.2rem;border:0;border-radius:.3rem;background:#1f5f99;color:#fff;cursor:pointer}
code{background:#eee;padding:0 .2rem}</style></head><body>`

var (
	confirmPage = template.Must(template.New("confirm").Parse(pageHead + `{{define "title"}}Unsubscribe{{end}}
<h1>Unsubscribe</h1>
<p>Stop receiving emails about homes from {{.Brokerage}}?</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button></form>
<p>You can ask {{.Brokerage}} to send them again at any time.</p></body></html>
`))
	donePage = template.Must(template.New("done").Parse(pageHead + `{{define "title"}}Unsubscribed{{end}}
<h1>You are unsubscribed</h1>
<p>{{.Brokerage}} will send you no more of these emails. Emails already scheduled for you have been canceled.</p></body></html>
`))
	errorPage = template.Must(template.New("error").Parse(pageHead + `{{define "title"}}Link not valid{{end}}
<h1>This link does not work</h1>
<p>{{.Message}}</p><p>Error code: <code>{{.Code}}</code></p></body></html>
`))
)
