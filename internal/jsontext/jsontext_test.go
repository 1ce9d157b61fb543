package jsontext

import "testing"

func TestCheck(t *testing.T) {
	tests := []struct {
		name, in string
		wantPath string // "-" for no problem
	}{
		{"plain", `{"a":"héllo","b":[1,"x",{"c":null}]}`, "-"},
		{"surrogate pair", `{"a":"\ud83d\ude00"}`, "-"},
		{"escaped backslash before u", `{"a":"\\ud800"}`, "-"},
		{"escaped U+FFFD is what it says", `{"a":"\ufffd"}`, "-"},
		{"lone high surrogate", `{"variables":{"input":{"name":"\ud800"}}}`, "variables.input.name"},
		{"lone high surrogate at the end", `{"a":"x\uD800"}`, "a"},
		{"high surrogate then a non-surrogate escape", `{"a":"\ud800\u0041"}`, "a"},
		{"lone low surrogate", `{"a":["ok","\udc00"]}`, "a[1]"},
		{"invalid byte", "{\"a\":{\"b\":\"\xff\"}}", "a.b"},
		{"truncated sequence", "{\"a\":\"\xe2\x82\"}", "a"},
		{"encoded surrogate bytes", "{\"a\":\"\xed\xa0\x80\"}", "a"},
		{"broken JSON is left to the decoder", `{"a":`, "-"},
		{"invalid byte outside any string", "{\"a\":1}\xff", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Check([]byte(tt.in))
			switch {
			case tt.wantPath == "-" && p != nil:
				t.Fatalf("Check = %v, want nil", p)
			case tt.wantPath != "-" && p == nil:
				t.Fatalf("Check = nil, want a problem at %q", tt.wantPath)
			case p != nil && p.Path != tt.wantPath:
				t.Fatalf("path %q, want %q", p.Path, tt.wantPath)
			}
		})
	}
}

func TestCheckGraphQL(t *testing.T) {
	for doc, bad := range map[string]bool{
		`{ a(s: "\ud83d\ude00") }`: false,
		`{ a(s: "\\ud800") }`:      false,
		`{ a(s: "\ud800") }`:       true,
		`{ a(s: "\udfff x") }`:     true,
		"{ a(s: \"\xff\") }":       true,
	} {
		if got := CheckGraphQL(doc) != nil; got != bad {
			t.Errorf("CheckGraphQL(%q) refused = %v, want %v", doc, got, bad)
		}
	}
}
