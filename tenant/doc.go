// Package tenant keeps every organization's data to itself.
//
// Each request, engine step or command runs with a Viewer in its context: the
// organization (and, once accounts exist, the user) it acts for. Install adds
// an ent interceptor and hook to a client so that every query is filtered to
// the viewer's organization and every new row is stamped with it. A context
// without a viewer is refused, so a forgotten viewer fails loudly instead of
// leaking another brokerage's data. Start-up code that must see every
// organization (migrations, seeding, recovery) says so explicitly with
// SystemContext.
package tenant
