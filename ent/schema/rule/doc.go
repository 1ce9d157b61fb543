// Package rule holds the privacy rules and hooks that keep every
// organization's data to itself. The schema's mixins attach them, so that
// every ent entity inherits them and no resolver, engine step or command
// has to remember to filter by organization.
//
// The rules read the tenant.Viewer of the context:
//   - queries are filtered to the viewer's organization (an organization
//     sees only itself);
//   - creates are stamped with the viewer's organization, and refused when
//     they name another one;
//   - every edge a mutation sets must point at a row of the viewer's
//     organization, so a foreign ID behaves exactly like an unknown one;
//   - updates and deletes are filtered like queries;
//   - users and tokens are changed by ADMINs only; organizations only by
//     operators (tenant.SystemContext).
//
// A context without a viewer is denied everything with tenant.ErrNoViewer.
package rule
