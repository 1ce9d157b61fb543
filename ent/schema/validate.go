package schema

import (
	"errors"
	"net/mail"
	"strings"
)

// validateEmail accepts a bare address ("ann@example.com"), not a display-name
// form, because the address is what email steps send to.
func validateEmail(s string) error {
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || !strings.Contains(s[strings.LastIndex(s, "@")+1:], ".") {
		return errors.New("must be an email address such as name@example.com")
	}
	return nil
}

// validateStringList rejects blank entries, which would only ever be typos.
func validateStringList(maxItems int) func([]string) error {
	return func(items []string) error {
		if len(items) > maxItems {
			return errors.New("too many entries")
		}
		for _, it := range items {
			if strings.TrimSpace(it) == "" {
				return errors.New("entries must not be blank")
			}
		}
		return nil
	}
}
