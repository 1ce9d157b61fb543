// Package requestid carries the ID of the HTTP request a context belongs to,
// and puts it in every log record logged with that context.
//
// httpserver's RequestID middleware stores the ID with [NewContext]; the
// logger's [Handler] adds it to each record as request_id, so that no call
// site attaches it by hand and none can forget it. Log calls must pass the
// context (the *Context methods of slog.Logger) for the ID to be found.
package requestid

import (
	"context"
	"log/slog"
)

// LogKey is the attribute under which records carry the request ID.
const LogKey = "request_id"

type contextKey struct{}

// NewContext returns a copy of ctx that carries the request ID id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, contextKey{}, id)
}

// FromContext returns the request ID ctx carries, if any.
func FromContext(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(contextKey{}).(string)
	return id, ok && id != ""
}

// Handler adds the request ID of a record's context to the record before
// passing it to the handler it wraps. Wrap it around logscrub's handler, not
// inside it, so that the ID (which a client may choose) is scrubbed too.
//
// The ID joins the record's own attributes, so a logger made with WithGroup
// reports it inside that group.
type Handler struct {
	inner slog.Handler
}

// NewHandler wraps h. Wrapping a Handler again returns it as it is.
func NewHandler(h slog.Handler) *Handler {
	if rh, ok := h.(*Handler); ok {
		return rh
	}
	return &Handler{inner: h}
}

// Enabled reports whether the wrapped handler handles records at level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle adds request_id when ctx carries one and passes r on.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := FromContext(ctx); ok {
		// The caller may hand the same record to other handlers: add to a
		// copy, not to its attributes.
		r = r.Clone()
		r.AddAttrs(slog.String(LogKey, id))
	}
	return h.inner.Handle(ctx, r)
}

// WithAttrs returns a Handler over the wrapped handler with attrs added.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{inner: h.inner.WithAttrs(attrs)}
}

// WithGroup returns a Handler over the wrapped handler with the group opened.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name)}
}
