// Package report turns one finished (or running) package run into the
// documents people hand over: JSON for machines, CSV for spreadsheets,
// Markdown for a CRM note and a self-contained, printable HTML page that is
// the seller-facing CMA and listing plan.
//
// Load assembles a Report from the database in a fixed number of queries
// (the run with its steps, package and subject, then one query per kind of
// effect), whatever the number of steps; the renderers (WriteJSON,
// WriteStepsCSV, WriteCompsCSV, WriteMarkdown, WriteHTML) only format that
// Report and never touch the database. Step outputs are decoded into the Go
// types their modules declare (modules/*/types.go), the same ones the
// GraphQL API serves.
package report
