package web

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
)

//go:embed assets
var assets embed.FS

//go:embed graphiql.html
var graphiqlPage string

// AssetsPath is where Handler expects the assets to be mounted.
const AssetsPath = "/playground/assets/"

// graphiqlTemplate is the GraphiQL page. It replaces gqlgen's playground
// page, whose fetcher introspects before GraphiQL's Headers editor exists and
// so without the token: the page opened on 401 with empty docs. This one
// offers a token field (kept in localStorage) and sends the Headers tab's
// headers, as GraphiQL persisted them, with every request, the schema fetch
// included.
var graphiqlTemplate = template.Must(template.New("graphiql").Parse(graphiqlPage))

// graphiqlData fills graphiql.html. The subresource-integrity values pin the
// embedded files (see doc.go).
type graphiqlData struct {
	Title, Endpoint, StoragePrefix string
	Assets                         string
	JSSRI, CSSSRI                  string
	ReactSRI, ReactDOMSRI          string
}

// PlaygroundHandler serves the GraphiQL page for the endpoint at
// graphqlPath.
func PlaygroundHandler(title, graphqlPath string) http.Handler {
	var page bytes.Buffer
	err := graphiqlTemplate.Execute(&page, graphiqlData{
		Title:         title,
		Endpoint:      graphqlPath,
		StoragePrefix: "estateflow",
		Assets:        AssetsPath,
		JSSRI:         "sha256-hnImuor1znlJkD/FOTL3jayfS/xsyNoP04abi8bFJWs=",
		CSSSRI:        "sha256-MEh+B2NdMSpj9kexQNN3QKc8UzMrCXW/Sx/phcpuyIU=",
		ReactSRI:      "sha256-S0lp+k7zWUMk2ixteM6HZvu8L9Eh//OVrt+ZfbCpmgY=",
		ReactDOMSRI:   "sha256-IXWO0ITNDjfnNXIu5POVfqlgYoop36bDzhodR6LW5Pc=",
	})
	if err != nil {
		panic(err) // the template and its data are fixed at build time
	}
	body := page.Bytes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(body)
	})
}

// AssetsHandler serves the embedded playground assets under AssetsPath.
func AssetsHandler() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix(AssetsPath, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The files never change within a build.
		w.Header().Set("Cache-Control", "public, max-age=86400")
		files.ServeHTTP(w, r)
	})
}
