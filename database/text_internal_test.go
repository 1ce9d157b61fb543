package database

import "testing"

func TestHasEscapedNUL(t *testing.T) {
	tests := []struct {
		json string
		want bool
	}{
		{`{"a":"b"}`, false},
		{`{"a":"\u0000"}`, true},
		{`{"x\u0000":1}`, true},
		{`["ok","a\u0000b"]`, true},
		{`{"a":"\\u0000"}`, false},      // an escaped backslash, then the text u0000
		{`{"a":"\\\u0000"}`, true},      // an escaped backslash, then NUL
		{`{"a":"\u00000"}`, true},       // NUL, then the digit 0
		{`{"a":"\u0001\u000a"}`, false}, // other control characters
		{`{"a":"\u000`, false},          // cut short
		{`"\`, false},
	}
	for _, tc := range tests {
		if got := hasEscapedNUL([]byte(tc.json)); got != tc.want {
			t.Errorf("hasEscapedNUL(%s) = %v, want %v", tc.json, got, tc.want)
		}
	}
}
