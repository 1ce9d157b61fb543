//go:build ignore

package main

import (
	"bytes"
	"go/format"
	"log"
	"os"
	"regexp"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
)

// Run from the repository root (see generate.go): the paths below are relative
// to it and must match the ones in gqlgen.yml.
func main() {
	ex, err := entgql.NewExtension(
		entgql.WithConfigPath("./gqlgen.yml"),
		entgql.WithSchemaGenerator(),
		entgql.WithSchemaPath("./graph/ent.graphqls"),
		entgql.WithWhereInputs(true),
		entgql.WithNodeDescriptor(false),
	)
	if err != nil {
		log.Fatalf("creating entgql extension: %v", err)
	}
	err = entc.Generate("./ent/schema", &gen.Config{
		Target:  "./ent",
		Package: "github.com/estateflow/estateflow/ent",
		Features: []gen.Feature{
			gen.FeatureGlobalID,
			gen.FeatureUpsert,
			gen.FeatureLock,
			gen.FeatureIntercept,
			gen.FeatureExecQuery,
			gen.FeaturePrivacy,
			gen.FeatureEntQL,
		},
	}, entc.Extensions(ex), entc.TemplateFiles("./ent/template/bind.tmpl", "./ent/template/load_total.tmpl"))
	if err != nil {
		log.Fatalf("running ent codegen: %v", err)
	}
	if err := unaliasClient("./ent/gql_pagination.go"); err != nil {
		log.Fatalf("rewriting client alias: %v", err)
	}
}

// unaliasClient works around a clash between entgql and ent. The Contact
// schema is exposed to GraphQL as "Client", and entgql then declares
// "type Client = Contact" in package ent, where ent's own Client already
// lives. In gql_pagination.go every use of the identifier Client means the
// alias, so the alias is dropped and its uses point at Contact directly.
func unaliasClient(path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	alias := []byte("// Client is the type alias for Contact.\ntype Client = Contact\n")
	if !bytes.Contains(src, alias) {
		return nil
	}
	src = bytes.Replace(src, alias, nil, 1)
	src = regexp.MustCompile(`\bClient\b`).ReplaceAll(src, []byte("Contact"))
	// The shorter name shifts struct-field alignment; keep the file gofmt-ed.
	if src, err = format.Source(src); err != nil {
		return err
	}
	return os.WriteFile(path, src, 0o644)
}
