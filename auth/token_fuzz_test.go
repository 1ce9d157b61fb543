package auth

import (
	"strings"
	"testing"
)

// FuzzParseBearer checks that the token parser accepts exactly the shape of
// the secrets NewSecret issues, and that whatever it accepts hashes to a
// stored-form hash.
func FuzzParseBearer(f *testing.F) {
	secret, _, _ := NewSecret()
	f.Add("Bearer " + secret)
	f.Add("bearer   " + secret)
	f.Add("Basic dXNlcjpwYXNz")
	f.Add("Bearer ef_")
	f.Add("Bearer " + secret + "x")
	f.Add("Bearer\t" + secret)
	f.Add("")
	f.Fuzz(func(t *testing.T, header string) {
		got, err := ParseBearer(header)
		if err != nil {
			if got != "" {
				t.Fatalf("ParseBearer(%q) returned %q with error %v", header, got, err)
			}
			return
		}
		if !strings.HasPrefix(got, SecretPrefix) || len(got) != len(secret) {
			t.Fatalf("ParseBearer(%q) accepted %q, which NewSecret cannot issue", header, got)
		}
		if !strings.Contains(header, got) {
			t.Fatalf("ParseBearer(%q) returned %q, not part of the header", header, got)
		}
		if h := Hash(got); len(h) != 64 {
			t.Fatalf("Hash(%q) = %q, want 64 hex digits", got, h)
		}
	})
}

func TestParseBearerAcceptsIssuedSecrets(t *testing.T) {
	secret, prefix, hash := NewSecret()
	for _, header := range []string{"Bearer " + secret, "bearer " + secret, "  BEARER   " + secret + " "} {
		got, err := ParseBearer(header)
		if err != nil || got != secret {
			t.Errorf("ParseBearer(%q) = %q, %v; want the secret", header, got, err)
		}
	}
	if !strings.HasPrefix(secret, prefix) || Hash(secret) != hash {
		t.Errorf("prefix %q or hash %q does not belong to %q", prefix, hash, secret)
	}
}
