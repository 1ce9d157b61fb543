package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// secretPrefix starts a Standard Webhooks secret as users see it.
const secretPrefix = "whsec_"

// NewSecret returns a new signing key (stored without the prefix) and the
// secret to show once (whsec_ followed by the key in base64).
func NewSecret() (key, shown string, err error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", fmt.Errorf("webhooks: new secret: %w", err)
	}
	key = base64.StdEncoding.EncodeToString(b[:])
	return key, secretPrefix + key, nil
}

// Sign returns the webhook-signature header value of a message: v1, then
// the base64 HMAC-SHA256, under the decoded key, of "id.timestamp.body".
func Sign(key, msgID string, timestamp int64, body []byte) (string, error) {
	secret, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(key, secretPrefix))
	if err != nil {
		return "", fmt.Errorf("webhooks: the signing key is not base64: %w", err)
	}
	mac := hmac.New(sha256.New, secret)
	fmt.Fprintf(mac, "%s.%d.", msgID, timestamp)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}
