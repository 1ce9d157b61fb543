package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"strings"
)

// SecretPrefix starts every token, so that leaked tokens are easy to spot
// (secret scanners, logs).
const SecretPrefix = "ef_"

// displayLength is how much of a secret is kept for display.
const displayLength = len(SecretPrefix) + 6

var encoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// ErrMalformed is a string that cannot be a token.
var ErrMalformed = errors.New("auth: not an EstateFlow token")

// NewSecret returns a fresh token secret, its display prefix and the hash
// to store.
func NewSecret() (secret, prefix, hash string) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail on supported platforms
	secret = SecretPrefix + strings.ToLower(encoding.EncodeToString(b[:]))
	return secret, secret[:displayLength], Hash(secret)
}

// Hash is what is stored for a secret. Secrets carry 256 random bits, so a
// plain SHA-256 cannot be brute-forced and needs no salt.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// ParseBearer extracts the secret from an Authorization value
// ("Bearer ef_…"), checking only its shape.
func ParseBearer(header string) (string, error) {
	scheme, secret, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", ErrMalformed
	}
	return checkShape(strings.TrimSpace(secret))
}

func checkShape(secret string) (string, error) {
	body, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok || len(body) != 52 {
		return "", ErrMalformed
	}
	if _, err := encoding.DecodeString(strings.ToUpper(body)); err != nil {
		return "", ErrMalformed
	}
	return secret, nil
}
