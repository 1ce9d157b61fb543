package web

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/99designs/gqlgen/graphql/playground"
)

//go:embed assets
var assets embed.FS

// AssetsPath is where Handler expects the assets to be mounted.
const AssetsPath = "/playground/assets/"

// PlaygroundHandler serves the GraphiQL page for the endpoint at
// graphqlPath.
func PlaygroundHandler(title, graphqlPath string) http.Handler {
	return playground.Handler(title, graphqlPath,
		playground.WithGraphiqlVersion(
			AssetsPath+"graphiql.min.js",
			AssetsPath+"graphiql.min.css",
			"sha256-hnImuor1znlJkD/FOTL3jayfS/xsyNoP04abi8bFJWs=",
			"sha256-MEh+B2NdMSpj9kexQNN3QKc8UzMrCXW/Sx/phcpuyIU=",
		),
		playground.WithGraphiqlReactVersion(
			AssetsPath+"react.production.min.js",
			AssetsPath+"react-dom.production.min.js",
			"sha256-S0lp+k7zWUMk2ixteM6HZvu8L9Eh//OVrt+ZfbCpmgY=",
			"sha256-IXWO0ITNDjfnNXIu5POVfqlgYoop36bDzhodR6LW5Pc=",
		),
		playground.WithStoragePrefix("estateflow"),
	)
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
