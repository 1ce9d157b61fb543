package logscrub

import (
	"context"
	"encoding"
	"encoding/json"
	"fmt"
	"log/slog"
)

// Handler scrubs records before passing them to the handler it wraps.
type Handler struct {
	inner slog.Handler
}

// New wraps h so that what it logs carries no token secrets, bearer
// credentials, email addresses or phone numbers. Wrapping a Handler again
// returns it as it is.
func New(h slog.Handler) *Handler {
	if s, ok := h.(*Handler); ok {
		return s
	}
	return &Handler{inner: h}
}

// Enabled reports whether the wrapped handler handles records at level.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

// Handle scrubs r's message and attributes and passes it on. A record in
// which nothing needs scrubbing is passed on as it came; one in which
// something does is rebuilt, its attributes scrubbed again (a rare case
// that costs formatting its non-string values twice).
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	msg, dirty := scrub(r.Message)
	if !dirty {
		r.Attrs(func(a slog.Attr) bool {
			_, dirty = scrubAttr(a)
			return !dirty
		})
	}
	if !dirty {
		return h.inner.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		a, _ = scrubAttr(a)
		out.AddAttrs(a)
		return true
	})
	return h.inner.Handle(ctx, out)
}

// WithAttrs scrubs attrs once and adds them to the wrapped handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	scrubbed := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		scrubbed[i], _ = scrubAttr(a)
	}
	return &Handler{inner: h.inner.WithAttrs(scrubbed)}
}

// WithGroup opens a group in the wrapped handler.
func (h *Handler) WithGroup(name string) slog.Handler {
	name, _ = scrub(name)
	return &Handler{inner: h.inner.WithGroup(name)}
}

// scrubAttr returns a scrubbed, and whether anything changed.
func scrubAttr(a slog.Attr) (slog.Attr, bool) {
	key, keyChanged := scrub(a.Key)
	a.Key = key
	if a.Value.Kind() == slog.KindLogValuer {
		a.Value = a.Value.Resolve()
	}
	if sensitiveKey(key) && canCarry(a.Value) {
		return slog.String(key, Mark), true
	}
	v, changed := scrubValue(a.Value)
	if changed {
		a.Value = v
	}
	return a, changed || keyChanged
}

// canCarry reports whether a value under a sensitive key may hold a
// secret or a contact detail: a non-empty string, a number (a phone) or
// any other value. Booleans, times and durations cannot, and a group's
// attributes are judged by their own keys.
func canCarry(v slog.Value) bool {
	switch v.Kind() {
	case slog.KindString:
		return v.String() != ""
	case slog.KindAny:
		return v.Any() != nil
	case slog.KindInt64, slog.KindUint64, slog.KindFloat64:
		return true
	}
	return false
}

// scrubValue returns v scrubbed, and whether anything changed. Numbers,
// booleans, times and durations cannot carry anything to scrub.
func scrubValue(v slog.Value) (slog.Value, bool) {
	switch v.Kind() {
	case slog.KindString:
		if s, changed := scrub(v.String()); changed {
			return slog.StringValue(s), true
		}
	case slog.KindGroup:
		group := v.Group()
		var out []slog.Attr
		for i, a := range group {
			sa, changed := scrubAttr(a)
			if changed && out == nil {
				out = make([]slog.Attr, len(group))
				copy(out, group[:i])
			}
			if out != nil {
				out[i] = sa
			}
		}
		if out != nil {
			return slog.GroupValue(out...), true
		}
	case slog.KindAny:
		if s, changed := scrubAny(v.Any()); changed {
			return slog.StringValue(s), true
		}
	}
	return v, false
}

// scrubAny scrubs the text of any value, as the handlers would print it:
// an error's message, a TextMarshaler's text, and otherwise fmt's %+v
// (which uses String and Error methods); a json.Marshaler's JSON, which
// the JSON handler prints, is checked too. It returns the scrubbed text and
// whether anything had to be scrubbed.
func scrubAny(x any) (string, bool) {
	var text string
	switch x := x.(type) {
	case nil:
		return "", false
	case error:
		text = x.Error()
	case encoding.TextMarshaler:
		b, err := x.MarshalText()
		if err != nil {
			return "", false // the handlers print the error, not the value
		}
		text = string(b)
	case []byte:
		text = string(x)
	default:
		text = fmt.Sprintf("%+v", x)
	}
	if s, changed := scrub(text); changed {
		return s, true
	}
	if m, ok := x.(json.Marshaler); ok {
		if b, err := m.MarshalJSON(); err == nil {
			if s, changed := scrub(string(b)); changed {
				return s, true
			}
		}
	}
	return "", false
}

// sensitiveKey reports whether the whole value of an attribute is
// redacted: its key, in lower case without '_', '-' and '.', is or ends
// with authorization, password, passwd, secret, token, apikey, cookie,
// email, emailaddress, phone, phonenumber or mobile ("client_email",
// "X-Api-Key").
func sensitiveKey(key string) bool {
	if len(key) < 5 {
		return false
	}
	switch key[len(key)-1] | 0x20 {
	case 'n':
		return keyEndsWith(key, "authorization") || keyEndsWith(key, "token")
	case 'd':
		return keyEndsWith(key, "password") || keyEndsWith(key, "passwd")
	case 't':
		return keyEndsWith(key, "secret")
	case 'y':
		return keyEndsWith(key, "apikey")
	case 'e':
		return keyEndsWith(key, "phone") || keyEndsWith(key, "mobile") || keyEndsWith(key, "cookie")
	case 'l':
		return keyEndsWith(key, "email")
	case 's':
		return keyEndsWith(key, "emailaddress")
	case 'r':
		return keyEndsWith(key, "phonenumber")
	}
	return false
}

// keyEndsWith reports whether key ends with the lower-case suffix, ignoring
// case and the separators '_', '-' and '.'.
func keyEndsWith(key, suffix string) bool {
	i := len(key)
	for j := len(suffix) - 1; j >= 0; j-- {
		for i > 0 && (key[i-1] == '_' || key[i-1] == '-' || key[i-1] == '.') {
			i--
		}
		if i == 0 || key[i-1]|0x20 != suffix[j] {
			return false
		}
		i--
	}
	return true
}
