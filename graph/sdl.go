package graph

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"sync"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
)

// SchemaPath is where the public SDL is served.
const SchemaPath = "/graphql/schema.graphql"

//go:embed *.graphqls
var schemaFiles embed.FS

// PublicSDL returns the schema as clients see it, for codegen tools: every
// type, field and description, without gqlgen's and entgql's code-generation
// directives (@goField, @goModel, @goTag, @goExtraField and any other
// @go…), which mean nothing outside this server's build.
//
// @cost and @expensive stay, with their definitions: they are part of the
// contract, telling a client what each field weighs against the server's
// complexity and expensive-field limits before it sends an operation.
func PublicSDL() ([]byte, error) { return publicSDLOnce() }

var publicSDLOnce = sync.OnceValues(buildPublicSDL)

func buildPublicSDL() ([]byte, error) {
	names, err := fs.Glob(schemaFiles, "*.graphqls")
	if err != nil {
		return nil, err
	}
	sources := make([]*ast.Source, 0, len(names))
	for _, name := range names {
		b, err := schemaFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		sources = append(sources, &ast.Source{Name: name, Input: string(b)})
	}
	schema, gqlErr := gqlparser.LoadSchema(sources...)
	if gqlErr != nil {
		return nil, fmt.Errorf("graph: loading the schema: %w", gqlErr)
	}
	stripCodegenDirectives(schema)
	var buf bytes.Buffer
	buf.WriteString("# EstateFlow GraphQL schema. Served at " + SchemaPath + " for code generators.\n\n")
	formatter.NewFormatter(&buf, formatter.WithIndent("  ")).FormatSchema(schema)
	return buf.Bytes(), nil
}

// isCodegenDirective says whether a directive only steers gqlgen or entgql.
func isCodegenDirective(name string) bool {
	return len(name) > 2 && strings.HasPrefix(name, "go") && name[2] >= 'A' && name[2] <= 'Z'
}

// stripCodegenDirectives removes the code-generation directives' definitions
// and every use of them, on types, fields, arguments and enum values.
func stripCodegenDirectives(s *ast.Schema) {
	for name := range s.Directives {
		if isCodegenDirective(name) {
			delete(s.Directives, name)
		}
	}
	s.SchemaDirectives = keepDirectives(s.SchemaDirectives)
	for _, def := range s.Types {
		def.Directives = keepDirectives(def.Directives)
		for _, f := range def.Fields {
			f.Directives = keepDirectives(f.Directives)
			for _, a := range f.Arguments {
				a.Directives = keepDirectives(a.Directives)
			}
		}
		for _, v := range def.EnumValues {
			v.Directives = keepDirectives(v.Directives)
		}
	}
}

func keepDirectives(list ast.DirectiveList) ast.DirectiveList {
	out := list[:0:0]
	for _, d := range list {
		if !isCodegenDirective(d.Name) {
			out = append(out, d)
		}
	}
	return out
}

// SchemaHandler serves PublicSDL as text/plain, to anyone: it is the same
// schema introspection gives. Mount it only when introspection is on.
func SchemaHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sdl, err := PublicSDL()
		if err != nil {
			http.Error(w, "the schema could not be built", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Disposition", `inline; filename="schema.graphql"`)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(sdl)
	})
}
