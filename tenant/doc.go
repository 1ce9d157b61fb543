// Package tenant says who a piece of work acts for.
//
// Each request, engine step or command runs with a Viewer in its context:
// the organization, and the user and role when there is one, it acts for.
// The ent privacy policies in ent/schema/rule read it to keep every
// organization's data to itself; a context without a viewer is refused, so
// a forgotten viewer fails loudly instead of leaking another brokerage's
// data. Start-up code that must see every organization (migrations,
// seeding, recovery scans, token lookup) says so explicitly with
// SystemContext.
package tenant
