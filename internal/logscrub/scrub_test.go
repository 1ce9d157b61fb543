package logscrub

import (
	"strings"
	"testing"
)

// secret has the shape of auth.NewSecret's output.
const secret = "ef_a4eascqlbqgq4dyqcejbgfavcylrqgi2dmob2hq7eaqseizeeuta"

func init() {
	if len(secret) != 3+52 {
		panic("test secret has the wrong length")
	}
}

func TestStringRedacts(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// Token secrets and bearer credentials.
		{"secret", "token " + secret + " refused", "token [redacted-token] refused"},
		{"secret upper case body", "ef_" + strings.ToUpper(secret[3:]), TokenMark},
		{"truncated secret", secret[:30], TokenMark},
		{"secret in JSON", `{"Authorization":"Bearer ` + secret + `"}`, `{"Authorization":"Bearer [redacted-token]"}`},
		{"secret after a word", "xef_" + secret[3:], "x" + TokenMark},
		{"bearer header", "Authorization: Bearer " + secret, "Authorization: Bearer [redacted-token]"},
		{"bearer JWT", "authorization=bearer eyJhbGciOi.eyJzdWIi.SflKxwRJ rest", "authorization=bearer [redacted-token] rest"},
		{"bearer any case", "BEARER abc123", "BEARER [redacted-token]"},
		{"bearer tab", "Bearer\tzzz", "Bearer\t[redacted-token]"},
		{"bearer quoted", `"Bearer not-a-real-token"`, `"Bearer [redacted-token]"`},
		// Over-redaction, on purpose: any word after "bearer" is a credential.
		{"bearer in prose", "the bearer of bad news", "the bearer [redacted-token] bad news"},

		// Email addresses.
		{"email", "ana@example.com", EmailMark},
		{"email in text", "sent to ana@example.com.", "sent to [redacted-email]."},
		{"email tags and subdomains", "Ana.Ruiz+crm@Mail.Example.CO.uk", EmailMark},
		{"email mailto", "mailto:ana@example.com", "mailto:" + EmailMark},
		{"email angle brackets", "Ana <ana_ruiz-1@example.io>", "Ana <" + EmailMark + ">"},
		{"email after key", "email=ana@example.com", "email=" + EmailMark},
		{"email in JSON", `{"email":"ana@example.com"}`, `{"email":"` + EmailMark + `"}`},
		{"email URL-encoded", "/x?to=ana%40example.com&y=1", "/x?to=" + EmailMark + "&y=1"},
		{"email IDN", "jörg@exämple.de", EmailMark},
		{"email punycode", "ana@xn--exmple-cua.xn--p1ai", EmailMark},
		{"two emails", "a@b.io, c@d.io", EmailMark + ", " + EmailMark},
		{"email in Go struct", "{Name:Ana Email:ana@example.com}", "{Name:Ana Email:" + EmailMark + "}"},

		// North-American phone numbers with separators.
		{"nanp parens", "(512) 555-0134", PhoneMark},
		{"nanp parens tight", "(512)555-0134", PhoneMark},
		{"nanp dashes", "512-555-0134", PhoneMark},
		{"nanp dots", "512.555.0134", PhoneMark},
		{"nanp spaces", "512 555 0134", PhoneMark},
		{"nanp mixed", "512 555-0134", PhoneMark},
		{"nanp country", "1-512-555-0134", PhoneMark},
		{"nanp country parens", "1 (512) 555-0134", PhoneMark},
		{"nanp sentence", "call 512.555.0134.", "call [redacted-phone]."},
		{"nanp in JSON", `{"phone":"512-555-0134"}`, `{"phone":"` + PhoneMark + `"}`},
		{"nanp extension", "512-555-0134 x12", PhoneMark + " x12"},

		// International form.
		{"plus one spaces", "+1 512 555 0134", PhoneMark},
		{"plus one dashes", "+1-512-555-0134", PhoneMark},
		{"plus one parens", "+1 (512) 555-0134", PhoneMark},
		{"plus one tight parens", "+1(512)555-0134", PhoneMark},
		{"E.164 US", "+15125550134", PhoneMark},
		{"E.164 UK", "+442079460958", PhoneMark},
		{"UK spaced", "+44 20 7946 0958", PhoneMark},
		{"UK trunk zero", "+44 (0)20 7946 0958", PhoneMark},
		{"France", "+33 1 23 45 67 89", PhoneMark},
		{"Germany short", "+49 30 901820", PhoneMark},
		{"dotted", "+44.20.7946.0958", PhoneMark},
		{"tel URI", "tel:+1-512-555-0134", "tel:" + PhoneMark},
		{"plus in JSON", `"phone":"+15125550134"`, `"phone":"` + PhoneMark + `"`},

		// Bare digits with a phone label.
		{"labelled bare", "phone=5125550134", "phone=" + PhoneMark},
		{"labelled bare 11", "Phone:15125550134", "Phone:" + PhoneMark},
		{"labelled JSON", `{"mobilePhone":"5125550134"}`, `{"mobilePhone":"` + PhoneMark + `"}`},
		{"labelled escaped JSON", `{\"phone\":\"5125550134\"}`, `{\"phone\":\"` + PhoneMark + `\"}`},
		{"labelled snake", "client_phone: 5125550134", "client_phone: " + PhoneMark},
		{"labelled words", "phone number: 5125550134", "phone number: " + PhoneMark},
		{"labelled sms", "sms 5125550134", "sms " + PhoneMark},
		{"labelled Go struct", "{Name:Ana Phone:5125550134}", "{Name:Ana Phone:" + PhoneMark + "}"},

		// Everything at once.
		{"mixed", "client ana@example.com (512) 555-0134 token " + secret,
			"client " + EmailMark + " " + PhoneMark + " token " + TokenMark},
		{"phone as email local part", "+15125550134@sms.example.com", EmailMark},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in); got != tt.want {
				t.Errorf("String(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestStringKeeps lists text that looks a little like a secret, an email or
// a phone number but is none, and must come out unchanged.
func TestStringKeeps(t *testing.T) {
	for _, in := range []string{
		"",
		"http request",
		// Timestamps and durations.
		"2024-05-06T10:00:00.123456789Z",
		"2024-05-06T10:00:00-05:00",
		"2024-05-06 10:00:00.123 +0000 UTC m=+0.012345678",
		"2024-05-06 10:00:00 +0530 IST",
		// time.Time's String with a monotonic reading.
		"2026-11-27 08:54:55.049313704 +0000 UTC m=+1.260552321 2026-11-27 08:54:55.049314044 +0000 UTC m=+1.260552321",
		"m=+12345.123456789 next",
		"+1234567890.5",
		"+1.26 2026",
		"Mon, 06 May 2024 10:00:00 GMT",
		"05/06/2024 10:00",
		"2024.05.06",
		"1.234567ms",
		"2m30.5s",
		"duration=1h2m3.004005006s",
		"20240506-101500-1234",
		"1715000000",
		"1715000000.123456",
		// Global IDs, request IDs, UUIDs.
		"17179869185",
		"node 4294967297",
		"run_id=21474836481 step_run_id=25769803777",
		"canceled run 17179869185",
		"telemetry 17179869185",
		"ids [17179869185 17179869186 17179869187]",
		"5f3a9c2e8b7d6a14",
		"1234567890123456",
		"request 0123456789abcdef",
		"123e4567-e89b-12d3-a456-426614174000",
		"00000000-0000-0000-0000-000000000000",
		"550e8400-e29b-41d4-a716-446655440000",
		"req-512-555-0134",
		"v1.512.555.0134",
		// Addresses, versions, numbers.
		"192.168.100.200:8080",
		"10.0.0.1",
		"[::1]:8080",
		"github.com/99designs/gqlgen@v0.17.98",
		"image@sha256:abcdef",
		"root@localhost",
		"a@b",
		"v0.17.98",
		"$1,500,000",
		"listed at 550000, 12% from the middle of the budget",
		"+0.71% per 1% more living area",
		"+12.5%",
		"1.5e+10",
		"1.2345678e+09",
		"+12345678",
		"+30.26721234",
		"lat 30.2672 lng -97.7431",
		"-97.74310000",
		"78704-1234",
		"ZIP 78704",
		"512-5550",
		"12-555-0134",
		"5120-555-0134",
		"512-555-01345",
		"512-555-0134-22",
		"100 200 300",
		"3 - 4",
		// Errors.
		"sql: no rows in result set",
		"constraint failed: UNIQUE constraint failed: contacts.email (2067)",
		`pq: duplicate key value violates unique constraint "contacts_organization_id_email_key"`,
		"ent: contact not found",
		"context deadline exceeded",
		"attempt 3 timed out after 5m0s",
		"found 2 SINGLE_FAMILY sales within 10 miles and 36 months before the valuation date, need at least 3",
		// Stack traces.
		"goroutine 123 [running]:\nruntime/debug.Stack()\n\t/usr/local/go/src/runtime/debug/stack.go:26 +0x5e\n" +
			"github.com/estateflow/estateflow/engine.(*Engine).safeExecute.func1()\n\t/work/main/engine/worker.go:85 +0x1a5\n" +
			"panic({0x10c6e40?, 0xc000123456?})",
		// Token display prefixes and words.
		"ef_abc123",
		"token ef_abc123… revoked",
		"undef_value",
		"bearer",
		"Bearer <token>",
		"Bearer [redacted-token]",
	} {
		if got := String(in); got != in {
			t.Errorf("String(%q) = %q, want it unchanged", in, got)
		}
	}
}

func TestStringAllocatesNothingWithoutMatch(t *testing.T) {
	in := "POST /graphql 200 1234 1.234567ms 5f3a9c2e8b7d6a14 17179869185 2024-05-06T10:00:00Z"
	if n := testing.AllocsPerRun(100, func() { _ = String(in) }); n != 0 {
		t.Fatalf("String allocates %v times without a match", n)
	}
}

// FuzzString puts known secrets and personal data between arbitrary text
// and checks that none survives (and that nothing panics).
func FuzzString(f *testing.F) {
	f.Add("phone:", "+1 (512) 555-0134", uint8(0))
	f.Add("+10000 000", "000 0000", uint8(3))
	f.Add("Bearer", "ef_", uint8(4))
	f.Add("ana%40example.com", "@x.io", uint8(1))
	items := []string{"ana.ruiz@example.com", "(512) 555-0134", "512-555-0134", "+44 20 7946 0958", secret, "+15125550134"}
	f.Fuzz(func(t *testing.T, prefix, suffix string, which uint8) {
		item := items[int(which)%len(items)]
		out := String(prefix + " " + item + " " + suffix)
		if !strings.Contains(prefix+suffix, item) && strings.Contains(out, item) {
			t.Fatalf("%q survived: %q", item, out)
		}
		_ = String(prefix + suffix)
	})
}
