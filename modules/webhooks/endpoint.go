package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/estateflow/estateflow/engine"
	"github.com/estateflow/estateflow/internal/errcode"
)

// The event types an endpoint may subscribe to.
const (
	RunFinished       = "RUN_FINISHED"
	StepFailed        = "STEP_FAILED"
	TaskCreated       = "TASK_CREATED"
	EmailUnsubscribed = "EMAIL_UNSUBSCRIBED"
)

// eventTypes lists the types an endpoint may subscribe to, each emitted
// by the writers of its change: RunFinished and StepFailed by the engine
// (OnRunEvents), TaskCreated by the task writers of modules/crm
// (TasksCreated), EmailUnsubscribed by marketing.Unsubscribe
// (Unsubscribed).
var eventTypes = []string{RunFinished, StepFailed, TaskCreated, EmailUnsubscribed}

func inputError(field, format string, args ...any) *engine.Error {
	return &engine.Error{Code: errcode.BadUserInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// CheckURL refuses a URL a webhook may not be sent to: anything but http
// or https with a host, and URLs that carry credentials.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return inputError("input.url", "url is not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return inputError("input.url", "url must be http or https, not %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return inputError("input.url", "url must name a host")
	}
	if u.User != nil {
		return inputError("input.url", "url must not carry a user name or password; the signature authenticates deliveries")
	}
	if u.Fragment != "" {
		return inputError("input.url", "url must not have a fragment")
	}
	return nil
}

// CheckEventTypes refuses an empty list and unknown or repeated types.
func CheckEventTypes(types []string) error {
	if len(types) == 0 {
		return inputError("input.eventTypes", "give at least one event type: %s", strings.Join(eventTypes, ", "))
	}
	for i, t := range types {
		if !slices.Contains(eventTypes, t) {
			return inputError("input.eventTypes", "%q is not an event type; use %s", t, strings.Join(eventTypes, ", "))
		}
		if slices.Contains(types[:i], t) {
			return inputError("input.eventTypes", "%s is listed twice", t)
		}
	}
	return nil
}

// errLinkLocal refuses a connection to a link-local address.
var errLinkLocal = errors.New("webhooks: refusing to connect to a link-local address")

// NewHTTPClient returns the delivery client: no redirects, and no
// connections to link-local addresses (cloud metadata services), checked
// on the address actually dialed, after DNS.
func NewHTTPClient(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{
		Timeout: 10 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip := net.ParseIP(host)
			if ip == nil || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() {
				return errLinkLocal
			}
			return nil
		},
	}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	return &http.Client{
		Timeout:   timeout,
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
