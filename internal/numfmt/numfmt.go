// Package numfmt writes numbers the way agents and clients read them in
// copy, notes and reports: whole numbers with thousands separators and
// whole-dollar amounts. One place, so that an email, a task note and a
// report never write the same price two ways.
package numfmt

import "strconv"

// Thousands writes n with comma separators: 1,234,567 (and -1,234).
func Thousands(n int) string {
	s := strconv.Itoa(n)
	sign := ""
	if n < 0 {
		sign, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return sign + s
}

// Dollars writes a whole-dollar amount: $1,234,567, or -$1,234.
func Dollars(n int) string {
	if n < 0 {
		return "-$" + Thousands(-n)
	}
	return "$" + Thousands(n)
}
