package marketing

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestUnsubscribeTokens(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	other := bytes.Repeat([]byte{8}, 32)
	nonce := messageNonce(key, 42, "email", 1)
	token := SignToken(key, nonce)
	if len(token) != 43 || strings.ContainsAny(token, "+/=") {
		t.Fatalf("token %q is not 32 bytes of unpadded base64url", token)
	}
	if err := VerifyToken(key, token); err != nil {
		t.Fatalf("a token does not verify under its own key: %v", err)
	}
	if got := SignToken(key, messageNonce(key, 42, "email", 1)); got != token {
		t.Errorf("the same message signs differently: %q, %q", got, token)
	}
	// The nonce depends on every part of the message's identity and on the
	// key, and shows none of them.
	for _, n := range [][]byte{messageNonce(key, 43, "email", 1), messageNonce(key, 42, "email2", 1), messageNonce(key, 42, "email", 2), messageNonce(other, 42, "email", 1)} {
		if bytes.Equal(n, nonce) {
			t.Errorf("two messages share the nonce %x", n)
		}
	}
	raw, _ := base64.RawURLEncoding.DecodeString(token)
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	bad := map[string]string{
		"other organization's key": SignToken(other, nonce),
		"nonce tampered":           flip(0),
		"tag tampered":             flip(len(raw) - 1),
		"truncated":                token[:42],
		"extended":                 token + "A",
		"padded":                   token + "=",
		"standard base64":          strings.NewReplacer("-", "+", "_", "/").Replace(token) + "+",
		"empty":                    "",
		"client id":                "17",
	}
	for name, tok := range bad {
		if err := VerifyToken(key, tok); !errors.Is(err, ErrBadToken) {
			t.Errorf("%s: %q verified (%v)", name, tok, err)
		}
	}
	if err := VerifyToken(nil, token); !errors.Is(err, ErrBadToken) {
		t.Errorf("an empty key verified a token")
	}
	if n, _, err := ParseToken(token); err != nil || n != EncodeNonce(nonce) {
		t.Errorf("ParseToken: %q, %v", n, err)
	}
}
