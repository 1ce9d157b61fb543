package main

// ent runs first because gqlgen binds to the types it generates. Both run from
// the repository root so that entc.go and gqlgen.yml see the same relative paths
// (otherwise the Time scalar vanishes on the second run).
//go:generate go run -mod=mod ./ent/entc.go
//go:generate go run -mod=mod github.com/99designs/gqlgen generate
