package logscrub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"testing/slogtest"
	"time"
)

type contact struct {
	Name, Email, Phone string
}

type stringer struct{ s string }

func (s stringer) String() string { return s.s }

type textMarshaler struct{ s string }

func (t textMarshaler) MarshalText() ([]byte, error) { return []byte(t.s), nil }

// jsonOnly prints nothing personal with %+v but does in its JSON.
type jsonOnly struct{}

func (jsonOnly) MarshalJSON() ([]byte, error) { return []byte(`{"to":"ana@example.com"}`), nil }

type valuer struct{}

func (valuer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("email", "ana@example.com"), slog.String("note", "call (512) 555-0134"))
}

// newTestLogger logs text without times into buf, through the scrubber.
func newTestLogger(buf *bytes.Buffer, json bool) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 {
			return slog.Attr{}
		}
		return a
	}}
	if json {
		return slog.New(New(slog.NewJSONHandler(buf, opts)))
	}
	return slog.New(New(slog.NewTextHandler(buf, opts)))
}

func TestHandlerScrubsEverywhere(t *testing.T) {
	const (
		email = "ana@example.com"
		phone = "(512) 555-0134"
	)
	tests := []struct {
		name string
		log  func(*slog.Logger)
		want string // in the text output
	}{
		{"message", func(l *slog.Logger) { l.Info("mailing " + email) }, `msg="mailing [redacted-email]"`},
		{"string", func(l *slog.Logger) { l.Info("m", "to", email) }, `to=[redacted-email]`},
		{"error", func(l *slog.Logger) { l.Error("m", "err", fmt.Errorf("sending to %s: %w", phone, io.EOF)) },
			`err="sending to [redacted-phone]: EOF"`},
		{"stringer", func(l *slog.Logger) { l.Info("m", "who", stringer{"Ana <" + email + ">"}) }, `who="Ana <[redacted-email]>"`},
		{"text marshaler", func(l *slog.Logger) { l.Info("m", "who", textMarshaler{secret}) }, `who=[redacted-token]`},
		{"struct", func(l *slog.Logger) { l.Info("m", "client", contact{"Ana", email, "5125550134"}) },
			`client="{Name:Ana Email:[redacted-email] Phone:[redacted-phone]}"`},
		{"pointer to struct", func(l *slog.Logger) { l.Info("m", "client", &contact{"Ana", email, phone}) },
			`client="&{Name:Ana Email:[redacted-email] Phone:[redacted-phone]}"`},
		{"map", func(l *slog.Logger) { l.Info("m", "vars", map[string]any{"e": email}) }, `vars=map[e:[redacted-email]]`},
		{"slice", func(l *slog.Logger) { l.Info("m", "to", []string{email, "b@c.io"}) }, `to="[[redacted-email] [redacted-email]]"`},
		{"bytes", func(l *slog.Logger) { l.Info("m", "body", []byte(`{"email":"`+email+`"}`)) }, `body="{\"email\":\"[redacted-email]\"}"`},
		{"json marshaler", func(l *slog.Logger) { l.Info("m", "x", jsonOnly{}) }, `x="{\"to\":\"[redacted-email]\"}"`},
		{"panic value", func(l *slog.Logger) { l.Error("m", "panic", any("no route to "+phone)) }, `panic="no route to [redacted-phone]"`},
		{"group", func(l *slog.Logger) {
			l.Info("m", slog.Group("req", "id", "5f3a9c2e8b7d6a14", "auth", "Bearer "+secret))
		},
			`req.id=5f3a9c2e8b7d6a14 req.auth="Bearer [redacted-token]"`},
		{"nested group", func(l *slog.Logger) {
			l.Info("m", slog.Group("a", slog.Group("b", "to", email)))
		}, `a.b.to=[redacted-email]`},
		{"log valuer", func(l *slog.Logger) { l.Info("m", "client", valuer{}) }, `client.email=[redacted] client.note="call [redacted-phone]"`},
		{"with attrs", func(l *slog.Logger) { l.With("to", email).Info("m", "n", 1) }, `to=[redacted-email] n=1`},
		{"with group", func(l *slog.Logger) { l.WithGroup("client").Info("m", "to", email) }, `client.to=[redacted-email]`},
		{"with group and attrs", func(l *slog.Logger) {
			l.WithGroup("g").With("phone", "5125550134").Info("m", "x", phone)
		}, `g.phone=[redacted] g.x=[redacted-phone]`},
		{"sensitive key", func(l *slog.Logger) {
			l.Info("m", "client_email", "not an address", "Authorization", "Basic YWxhZGRpbjpvcGVu")
		},
			`client_email=[redacted] Authorization=[redacted]`},
		{"sensitive key number", func(l *slog.Logger) { l.Info("m", "phone", 5125550134) }, `phone=[redacted]`},
		{"sensitive key empty", func(l *slog.Logger) { l.Info("m", "email", "") }, `email=""`},
		{"sensitive key bool", func(l *slog.Logger) { l.Info("m", "has_email", true, "email_opt_in", false) }, `has_email=true email_opt_in=false`},
		{"sensitive key group", func(l *slog.Logger) { l.Info("m", slog.Group("email", "status", "SENT", "to", email)) },
			`email.status=SENT email.to=[redacted-email]`},
		{"many attrs", func(l *slog.Logger) {
			args := []any{}
			for i := range 20 {
				args = append(args, fmt.Sprint("k", i), i)
			}
			l.Info("m", append(args, "last", email)...)
		}, `k19=19 last=[redacted-email]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			tt.log(newTestLogger(&buf, false))
			out := buf.String()
			if !strings.Contains(out, tt.want) {
				t.Errorf("got  %s\nwant it to contain %s", out, tt.want)
			}
			for _, leak := range []string{email, "555-0134", "5125550134", secret[5:20]} {
				if strings.Contains(out, leak) {
					t.Errorf("%q leaked: %s", leak, out)
				}
			}
		})
	}
}

func TestHandlerJSON(t *testing.T) {
	var buf bytes.Buffer
	logger := newTestLogger(&buf, true)
	logger.Info("user ana@example.com", "n", 3, "ok", true, "err", errors.New("phone +1 512 555 0134"),
		"client", contact{Name: "Ana", Email: "ana@example.com"}, "plain", contact{Name: "Ana"})
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, buf.Bytes())
	}
	want := map[string]any{
		"level": "INFO", "msg": "user [redacted-email]", "n": 3.0, "ok": true, "err": "phone [redacted-phone]",
		"client": "{Name:Ana Email:[redacted-email] Phone:}",
		// Nothing to scrub: the value keeps its type.
		"plain": map[string]any{"Name": "Ana", "Email": "", "Phone": ""},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
}

// TestHandlerPassesCleanRecordsThrough checks that a record with nothing to
// scrub reaches the wrapped handler as it came: same attributes, same
// kinds.
func TestHandlerPassesCleanRecordsThrough(t *testing.T) {
	var got slog.Record
	inner := recordingHandler{record: &got}
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "http request", 0)
	r.AddAttrs(slog.String("path", "/graphql"), slog.Int("status", 200), slog.Duration("duration", time.Millisecond),
		slog.Any("err", io.EOF), slog.Any("ids", []int{17179869185}))
	if err := New(inner).Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if got.Message != r.Message || got.NumAttrs() != r.NumAttrs() {
		t.Fatalf("got %v", got)
	}
	var kinds []slog.Kind
	got.Attrs(func(a slog.Attr) bool { kinds = append(kinds, a.Value.Kind()); return true })
	if fmt.Sprint(kinds) != "[String Int64 Duration Any Any]" {
		t.Fatalf("kinds %v", kinds)
	}
}

type recordingHandler struct{ record *slog.Record }

func (recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordingHandler) Handle(_ context.Context, r slog.Record) error {
	*h.record = r.Clone()
	return nil
}
func (h recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordingHandler) WithGroup(string) slog.Handler      { return h }

func TestNewDoesNotWrapTwice(t *testing.T) {
	h := New(slog.NewTextHandler(io.Discard, nil))
	if New(h) != h {
		t.Fatal("New wrapped a scrubber again")
	}
}

func TestHandlerEnabled(t *testing.T) {
	h := New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelError) {
		t.Fatal("Enabled does not follow the wrapped handler")
	}
}

// TestSlogConformance runs the standard library's handler tests through
// the scrubber.
func TestSlogConformance(t *testing.T) {
	var buf bytes.Buffer
	h := New(slog.NewJSONHandler(&buf, nil))
	results := func() []map[string]any {
		var ms []map[string]any
		for _, line := range bytes.Split(buf.Bytes(), []byte{'\n'}) {
			if len(line) == 0 {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatal(err)
			}
			ms = append(ms, m)
		}
		return ms
	}
	if err := slogtest.TestHandler(h, results); err != nil {
		t.Fatal(err)
	}
}

// accessLog logs what httpserver.AccessLog logs for a request.
func accessLog(l *slog.Logger, ctx context.Context) {
	l.LogAttrs(ctx, slog.LevelInfo, "http request",
		slog.String("request_id", "5f3a9c2e8b7d6a14"),
		slog.String("method", "POST"),
		slog.String("path", "/graphql"),
		slog.Int("status", 200),
		slog.Int64("bytes", 1843),
		slog.Duration("duration", 2345678*time.Nanosecond),
	)
}
