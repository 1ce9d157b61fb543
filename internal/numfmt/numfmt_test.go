package numfmt

import "testing"

func TestThousandsAndDollars(t *testing.T) {
	for _, tt := range []struct {
		n                int
		thousands, money string
	}{
		{0, "0", "$0"},
		{7, "7", "$7"},
		{999, "999", "$999"},
		{1000, "1,000", "$1,000"},
		{65000, "65,000", "$65,000"},
		{1234567, "1,234,567", "$1,234,567"},
		{-1234, "-1,234", "-$1,234"},
		{-100, "-100", "-$100"},
	} {
		if got := Thousands(tt.n); got != tt.thousands {
			t.Errorf("Thousands(%d) = %q, want %q", tt.n, got, tt.thousands)
		}
		if got := Dollars(tt.n); got != tt.money {
			t.Errorf("Dollars(%d) = %q, want %q", tt.n, got, tt.money)
		}
	}
}
