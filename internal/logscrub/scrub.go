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

// findPhone finds phone numbers: North-American numbers written with
// separators, numbers in international form with a leading plus, and bare
// digit runs that a label calls a phone. See the package documentation for
// what is left alone.
func findPhone(s string, from int) (int, int, string) {
	for i := from; i < len(s); i++ {
		c := s[i]
		switch {
		// The end of the previous match (from) counts as a boundary, as the
		// mark that replaces it will.
		case c == '+':
			if i > from && isWordByte(s[i-1]) {
				continue
			}
			if end := plusNumber(s, i); end > 0 {
				return i, end, PhoneMark
			}
		case c == '(':
			if i > from && isWordByte(s[i-1]) {
				continue
			}
			if end := nanp(s, i); end > 0 {
				return i, end, PhoneMark
			}
		case isDigit(c):
			if i > from && (isWordByte(s[i-1]) || partOfLarger(s, from, i)) {
				// The middle of a word or of a larger number: skip the run.
				for i+1 < len(s) && isDigit(s[i+1]) {
					i++
				}
				continue
			}
			if c == '1' && i+2 < len(s) && isSep(s[i+1]) {
				if end := nanp(s, i+2); end > 0 {
					return i, end, PhoneMark // 1-512-555-0134
				}
			}
			if end := nanp(s, i); end > 0 {
				return i, end, PhoneMark
			}
			run := i
			for run < len(s) && isDigit(s[run]) {
				run++
			}
			n := run - i
			if (n == 10 || (n == 11 && c == '1')) && endsNumber(s, run) && labelledPhone(s[from:i]) {
				return i, run, PhoneMark
			}
			i = run - 1
		}
	}
	return -1, -1, ""
}

// partOfLarger reports whether the digits at i continue a token such as
// "2024-05", "v1.2" or "a-512": a '-' or '.' right before them, itself
// preceded by a letter or digit.
func partOfLarger(s string, from, i int) bool {
	p := s[i-1]
	return (p == '-' || p == '.') && i-2 >= from && isWordByte(s[i-2])
}

// nanp matches a North-American number at i: "(512) 555-0134",
// "(512)555-0134", "512-555-0134", "512.555.0134" or "512 555 0134",
// and returns where it ends, or -1.
func nanp(s string, i int) int {
	j := i
	if j < len(s) && s[j] == '(' {
		if !digitsAt(s, j+1, 3) || j+4 >= len(s) || s[j+4] != ')' {
			return -1
		}
		j += 5
		if j < len(s) && isSep(s[j]) {
			j++
		}
	} else {
		if !digitsAt(s, j, 3) || j+3 >= len(s) || !isSep(s[j+3]) {
			return -1
		}
		j += 4
	}
	if !digitsAt(s, j, 3) || j+3 >= len(s) || !isSep(s[j+3]) || !digitsAt(s, j+4, 4) {
		return -1
	}
	j += 8
	if !endsNumber(s, j) {
		return -1
	}
	return j
}

// plusNumber matches a number in international form at the '+' at i: a
// country code starting with 1-9, then groups of digits (or of 1 to 4
// digits in parentheses) with single separators between them, 8 to 15
// digits in all (10 to 15 with no separator, so that "+12345678" as a
// signed number is left alone). A lone '.', or a '.' next to more than
// four digits, makes it a decimal ("+30.26721234", "+1.260552321"), not a
// phone. It returns the end of the longest such
// number that is not followed by a letter, digit or '_', or -1.
func plusNumber(s string, i int) int {
	j := i + 1
	if j >= len(s) || s[j] < '1' || s[j] > '9' {
		return -1
	}
	var (
		digits, seps, dots, parens int
		best                       = -1
		sep                        byte // the separator before the group at j, or 0
	)
	for j < len(s) {
		var n, next int // the group's digits, and where it ends
		switch {
		case isDigit(s[j]):
			next = j
			for next < len(s) && isDigit(s[next]) {
				next++
			}
			n = next - j
		case s[j] == '(':
			k := j + 1
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			if k > j+1 && k-j-1 <= 4 && k < len(s) && s[k] == ')' {
				n, next = k-j-1, k+1
				parens++
			}
		}
		if n == 0 || digits+n > 15 {
			break
		}
		digits += n
		if sep != 0 {
			seps++
			if sep == '.' {
				dots++
			}
		}
		j, sep = next, 0
		before := best
		if (j == len(s) || !isWordByte(s[j])) && plausible(digits, seps, dots, parens) {
			best = j
		}
		switch {
		case s[j-1] != ')' && j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) && (n > 4 || digitRun(s, j+1) > 4):
			// A decimal point, not a separator: "m=+1.260552321" (a
			// time's monotonic reading), "+1234567890.5".
			if best == j {
				best = before
			}
			j = len(s)
		case j+1 < len(s) && isSep(s[j]) && (isDigit(s[j+1]) || s[j+1] == '('):
			sep = s[j]
			j++
		case j < len(s) && (s[j] == '(' || isDigit(s[j])):
			// "+1(512)" or "(0)20": no separator
		default:
			j = len(s)
		}
	}
	return best
}

func plausible(digits, seps, dots, parens int) bool {
	switch {
	case seps == 0 && parens == 0:
		return digits >= 10
	case seps == 1 && dots == 1 && parens == 0:
		return false
	}
	return digits >= 8
}

// endsNumber reports whether a number may end at i: at the end of s, or
// before a byte that is neither a letter, a digit nor '_', and not a '-' or
// '.' that continues with a digit.
func endsNumber(s string, i int) bool {
	if i >= len(s) {
		return true
	}
	c := s[i]
	if isWordByte(c) {
		return false
	}
	if (c == '-' || c == '.') && i+1 < len(s) && isDigit(s[i+1]) {
		return false
	}
	return true
}

// labelledPhone reports whether the text before a bare digit run labels it
// a phone: a few glue bytes (blanks, quotes, ':', '=', '#', '\') after a
// word such as phone, mobile, cell, tel, sms or fax ("phone=",
// "\"mobilePhone\":\"", "Phone number: ").
func labelledPhone(before string) bool {
	j := len(before)
	for k := 0; j > 0 && k < 6 && isGlue(before[j-1]); k++ {
		j--
	}
	if j == len(before) {
		return false
	}
	w := j
	for w > 0 && j-w < 32 && (isLetter(before[w-1]) || before[w-1] == '_') {
		w--
	}
	label := before[w:j]
	if hasPhoneWord(label) {
		return true
	}
	// "phone number", "mobile no": the word before a number word.
	switch strings.ToLower(label) {
	case "number", "no", "num", "nr":
		if w > 1 && before[w-1] == ' ' {
			v := w - 1
			for v > 0 && w-1-v < 32 && (isLetter(before[v-1]) || before[v-1] == '_') {
				v--
			}
			return hasPhoneWord(before[v : w-1])
		}
	}
	return false
}

// hasPhoneWord reports whether one of the words of an identifier (split
// at '_' and at lower-to-upper case changes) is a phone word.
func hasPhoneWord(label string) bool {
	start := 0
	for i := 1; i <= len(label); i++ {
		if i < len(label) && label[i] != '_' && !(isUpper(label[i]) && !isUpper(label[i-1])) {
			continue
		}
		if isPhoneWord(strings.TrimPrefix(label[start:i], "_")) {
			return true
		}
		start = i
	}
	return false
}

var phoneWords = [...]string{"phone", "phones", "telephone", "tel", "mobile", "cell", "cellphone", "sms", "fax", "whatsapp", "msisdn"}

func isPhoneWord(w string) bool {
	for _, p := range phoneWords {
		if strings.EqualFold(w, p) {
			return true
		}
	}
	return false
}

func isGlue(c byte) bool {
	switch c {
	case ' ', '\t', ':', '=', '"', '\'', '#', '\\':
		return true
	}
	return false
}

// digitRun returns how many digits start at i.
func digitRun(s string, i int) int {
	n := 0
	for i+n < len(s) && isDigit(s[i+n]) {
		n++
	}
	return n
}

func digitsAt(s string, i, n int) bool {
	if i+n > len(s) {
		return false
	}
	for k := i; k < i+n; k++ {
		if !isDigit(s[k]) {
			return false
		}
	}
	return true
}

func isSep(c byte) bool      { return c == ' ' || c == '-' || c == '.' }
func isDigit(c byte) bool    { return '0' <= c && c <= '9' }
func isUpper(c byte) bool    { return 'A' <= c && c <= 'Z' }
func isLetter(c byte) bool   { return 'a' <= c|0x20 && c|0x20 <= 'z' }
func isAlnum(c byte) bool    { return isDigit(c) || isLetter(c) }
func isWordByte(c byte) bool { return isAlnum(c) || c == '_' }
