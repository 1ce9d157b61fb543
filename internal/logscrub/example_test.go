package logscrub_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/estateflow/estateflow/internal/logscrub"
)

func Example() {
	// Times are left out to keep the output stable.
	text := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	})
	logger := slog.New(logscrub.New(text))

	logger.Info("http request", "request_id", "5f3a9c2e8b7d6a14", "path", "/graphql", "status", 200)
	logger.Warn("mail bounced for ana@example.com", "err", errors.New("mailbox (512) 555-0134 full"))
	logger.Info("refused", "header", "Bearer ef_a4eascqlbqgq4dyqcejbgfavcylrqgi2dmob2hq7eaqseizeeuta")
	logger.Info("client", "phone", "5125550134", "note", "call +44 20 7946 0958 after 17:00")
	// Output:
	// level=INFO msg="http request" request_id=5f3a9c2e8b7d6a14 path=/graphql status=200
	// level=WARN msg="mail bounced for [redacted-email]" err="mailbox [redacted-phone] full"
	// level=INFO msg=refused header="Bearer [redacted-token]"
	// level=INFO msg=client phone=[redacted] note="call [redacted-phone] after 17:00"
}

// String scrubs text that is not logged through a handler.
func ExampleString() {
	fmt.Println(logscrub.String("Ana <ana@example.com>, 512.555.0134, run 17179869185 at 2024-05-06T10:00:00Z"))
	// Output:
	// Ana <[redacted-email]>, [redacted-phone], run 17179869185 at 2024-05-06T10:00:00Z
}
