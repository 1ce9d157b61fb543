package marketing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
)

// Unsubscribe tokens. A link's token is 32 bytes, base64url without
// padding (43 characters):
//
//	nonce (16 bytes) | HMAC-SHA256(key, "estateflow-unsubscribe-v1|" + nonce)[:16]
//
// The nonce is itself an HMAC, under the same organization key, of the
// message's run, step and place in the sequence: it is deterministic (a
// re-executed step writes the same link), names nothing in clear (no client
// or message ID) and cannot be guessed. The public endpoint finds the
// message by its nonce, then checks the tag with the organization's key in
// constant time, so a token from a database dump of nonces, or signed with
// another organization's key, is refused. 128-bit nonce and tag: neither can
// be guessed nor forged by trying.
const (
	nonceBytes = 16
	tagBytes   = 16
	tokenBytes = nonceBytes + tagBytes
)

// ErrBadToken is any token that is not one of ours: malformed, tampered
// with, or signed with another key. Callers answer it as "not found",
// whatever the reason, so that a token reveals nothing.
var ErrBadToken = errors.New("unknown unsubscribe link")

// messageNonce is the per-message nonce of the email planned by run and
// step at place index, under key.
func messageNonce(key []byte, runID int, stepKey string, index int) []byte {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "estateflow-unsubscribe-nonce-v1|%d|%s|%d", runID, strconv.Quote(stepKey), index)
	return m.Sum(nil)[:nonceBytes]
}

func tokenTag(key, nonce []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("estateflow-unsubscribe-v1|"))
	m.Write(nonce)
	return m.Sum(nil)[:tagBytes]
}

// EncodeNonce is the form a nonce is stored in (the message's
// unsubscribe_nonce).
func EncodeNonce(nonce []byte) string { return base64.RawURLEncoding.EncodeToString(nonce) }

// SignToken is the unsubscribe token for nonce under key.
func SignToken(key, nonce []byte) string {
	b := make([]byte, 0, tokenBytes)
	b = append(append(b, nonce...), tokenTag(key, nonce)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseToken splits a token into its nonce, in stored form, and its tag. It
// checks the shape only: VerifyToken checks the tag once the nonce has led
// to the organization's key.
func ParseToken(token string) (nonce string, raw []byte, err error) {
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return "", nil, ErrBadToken
	}
	raw, err = base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != tokenBytes {
		return "", nil, ErrBadToken
	}
	return EncodeNonce(raw[:nonceBytes]), raw, nil
}

// VerifyToken reports whether token was signed with key, in constant time.
func VerifyToken(key []byte, token string) error {
	_, raw, err := ParseToken(token)
	if err != nil {
		return err
	}
	if len(key) == 0 || !hmac.Equal(raw[nonceBytes:], tokenTag(key, raw[:nonceBytes])) {
		return ErrBadToken
	}
	return nil
}
