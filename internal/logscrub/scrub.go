package logscrub

import "strings"

// What a redacted part is replaced with.
const (
	TokenMark = "[redacted-token]"
	EmailMark = "[redacted-email]"
	PhoneMark = "[redacted-phone]"
	// Mark replaces the whole value of an attribute whose key names a
	// secret or a contact detail.
	Mark = "[redacted]"
)

// String returns s with its token secrets, bearer credentials, email
// addresses and phone numbers replaced by their marks.
func String(s string) string {
	out, _ := scrub(s)
	return out
}

// scrub returns s scrubbed, and whether anything was replaced. When
// nothing is, it returns s itself and allocates nothing.
func scrub(s string) (string, bool) {
	// One pass finds which finders can match at all: most log text has no
	// '@', '+' or blank, and often no digit.
	var present uint8
	for i := 0; i < len(s); i++ {
		present |= triggers[s[i]]
	}
	if present == 0 {
		return s, false
	}
	changed := false
	// Secrets first: an email's local part or a phone-like run inside a
	// secret must not leave part of the secret behind. A replacement only
	// removes trigger bytes (marks have none), so present stays an upper
	// bound.
	for _, f := range finders {
		if present&f.trigger == 0 {
			continue
		}
		if out, ok := replaceAll(s, f.find); ok {
			s, changed = out, true
		}
	}
	return s, changed
}

// A finder returns the first match in s at or after from, as the byte
// range to replace and its replacement, or start < 0.
type finder func(s string, from int) (start, end int, mark string)

// Trigger classes: a finder runs only on text with a byte of its class.
const (
	trigUnderscore uint8 = 1 << iota // "ef_"
	trigBlank                        // "Bearer "
	trigAt                           // '@', "%40"
	trigPhone                        // digits, '+', '('
)

var triggers = func() (t [256]uint8) {
	t['_'] = trigUnderscore
	t[' '], t['\t'] = trigBlank, trigBlank
	t['@'], t['%'] = trigAt, trigAt
	t['+'], t['('] = trigPhone, trigPhone
	for c := '0'; c <= '9'; c++ {
		t[c] = trigPhone
	}
	return t
}()

var finders = [...]struct {
	trigger uint8
	find    finder
}{
	{trigUnderscore, findSecret},
	{trigBlank, findBearer},
	{trigAt, findEmail},
	{trigPhone, findPhone},
}

func replaceAll(s string, find finder) (string, bool) {
	start, end, mark := find(s, 0)
	if start < 0 {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	last := 0
	for start >= 0 {
		b.WriteString(s[last:start])
		b.WriteString(mark)
		last = end
		start, end, mark = find(s, end)
	}
	b.WriteString(s[last:])
	return b.String(), true
}

// minSecretBody is how many letters and digits after "ef_" make a secret:
// fewer than a real secret's 52, so that a truncated one is caught, and
// more than the 6 of the display prefix, which is kept.
const minSecretBody = 20

// findSecret finds EstateFlow token secrets: "ef_" and at least
// minSecretBody letters and digits (real ones are 52 base32 characters,
// lower case, but the parser accepts upper case too).
func findSecret(s string, from int) (int, int, string) {
	for from < len(s) {
		i := strings.Index(s[from:], "ef_")
		if i < 0 {
			break
		}
		start := from + i
		end := start + 3
		for end < len(s) && isAlnum(s[end]) {
			end++
		}
		if end-start-3 >= minSecretBody {
			return start, end, TokenMark
		}
		from = end
	}
	return -1, -1, ""
}

// findBearer finds the credential after "Bearer" (any case) and one or
// more blanks: everything up to a blank, a quote or a delimiter. The scheme
// word is kept.
func findBearer(s string, from int) (int, int, string) {
	for i := from; i+len("bearer") < len(s); i++ {
		if s[i]|0x20 != 'b' || !strings.EqualFold(s[i:i+6], "bearer") || (i > from && isLetter(s[i-1])) {
			continue
		}
		start := i + 6
		for start < len(s) && (s[start] == ' ' || s[start] == '\t') {
			start++
		}
		if start == i+6 {
			continue
		}
		end := start
		for end < len(s) && isCredential(s[end]) {
			end++
		}
		if end > start && !strings.HasPrefix(s[start:], "[redacted") {
			return start, end, TokenMark
		}
	}
	return -1, -1, ""
}

func isCredential(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', ',', ';', '\\', '<', '>', '(', ')', '[', ']', '{', '}':
		return false
	}
	return c > ' ' && c != 0x7f
}

// findEmail finds addresses around an "@" (or its URL encoding "%40"): a
// local part of letters, digits and ._%+- and a domain of at least two
// labels whose last one is at least two letters. Bytes of multi-byte UTF-8
// characters count as letters, for international addresses.
func findEmail(s string, from int) (int, int, string) {
	for from < len(s) {
		at, atLen := nextAt(s, from)
		if at < 0 {
			break
		}
		start := at
		for start > from && isLocal(s[start-1]) {
			start--
		}
		for start < at && s[start] == '.' {
			start++
		}
		if end := domainEnd(s, at+atLen); start < at && end > 0 {
			return start, end, EmailMark
		}
		from = at + atLen
	}
	return -1, -1, ""
}

// nextAt returns the position and length of the next "@" or "%40".
func nextAt(s string, from int) (int, int) {
	at := strings.IndexByte(s[from:], '@')
	if at >= 0 {
		at += from
	}
	// "%40" only matters before the next "@".
	limit := len(s)
	if at >= 0 {
		limit = at
	}
	if pct := strings.Index(s[from:limit], "%40"); pct >= 0 {
		return from + pct, 3
	}
	return at, 1
}

// domainEnd returns where the domain starting at i ends, or -1 if there is
// no plausible domain there.
func domainEnd(s string, i int) int {
	end := i
	for end < len(s) && isDomain(s[end]) {
		end++
	}
	for end > i && (s[end-1] == '.' || s[end-1] == '-') {
		end--
	}
	d := s[i:end]
	if d == "" || d[0] == '.' || d[0] == '-' || strings.Contains(d, "..") {
		return -1
	}
	dot := strings.LastIndexByte(d, '.')
	if dot < 0 {
		return -1
	}
	tld := d[dot+1:]
	if len(tld) < 2 || !(isLetter(tld[0]) || tld[0] >= 0x80) {
		return -1
	}
	for j := 0; j < len(tld); j++ {
		if c := tld[j]; !isLetter(c) && c < 0x80 && !(strings.HasPrefix(tld, "xn--") && (isDigit(c) || c == '-')) {
			return -1
		}
	}
	return end
}

func isLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c >= 0x80
}

func isDomain(c byte) bool {
	return isAlnum(c) || c == '.' || c == '-' || c >= 0x80
}

func isSep(c byte) bool      { return c == ' ' || c == '-' || c == '.' }
func isDigit(c byte) bool    { return '0' <= c && c <= '9' }
func isUpper(c byte) bool    { return 'A' <= c && c <= 'Z' }
func isLetter(c byte) bool   { return 'a' <= c|0x20 && c|0x20 <= 'z' }
func isAlnum(c byte) bool    { return isDigit(c) || isLetter(c) }
func isWordByte(c byte) bool { return isAlnum(c) || c == '_' }
