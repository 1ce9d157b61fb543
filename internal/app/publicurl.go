package app

import (
	"fmt"
	"net/url"
)

// DefaultPublicURL is the public address of a server run locally.
const DefaultPublicURL = "http://localhost:8080"

// publicURL is cfg.PublicURL, or DefaultPublicURL when unset.
func (cfg Config) publicURL() string {
	if cfg.PublicURL == "" {
		return DefaultPublicURL
	}
	return cfg.PublicURL
}

// checkPublicURL refuses a public URL links cannot be built on: it must be
// an absolute http(s) address with no query or fragment. (RFC 8058 asks
// for https; http is accepted for local use.)
func checkPublicURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("-public-url %q: must be an absolute address such as https://estateflow.example.com", s)
	}
	return nil
}
