package logscrub

import "strings"

// Phone numbers: the hardest of the scrubber's finds, since digit runs
// are everywhere in logs (IDs, timestamps, durations) and only some are
// phone numbers.

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
