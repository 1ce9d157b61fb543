package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/estateflow/estateflow/auth"
)

// TestTrackEndsAtExpiry: a tracked stream of an expiring token ends at the
// expiry, with ErrTokenExpired as the cause; one its caller ends first ends
// with no such cause, and no longer counts against the limit.
func TestTrackEndsAtExpiry(t *testing.T) {
	t.Parallel()
	a := auth.New(nil)
	a.MaxStreams = 1
	expiresAt := time.Now().Add(50 * time.Millisecond)
	ctx, _, err := a.Track(context.Background(), 1, &expiresAt)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the stream outlived its token")
	}
	if cause := context.Cause(ctx); !errors.Is(cause, auth.ErrTokenExpired) {
		t.Fatalf("cause %v, want ErrTokenExpired", cause)
	}
	// The expired stream no longer counts.
	later := time.Now().Add(time.Hour)
	ctx, done, err := a.Track(context.Background(), 1, &later)
	if err != nil {
		t.Fatalf("after the expiry: %v", err)
	}
	done()
	if cause := context.Cause(ctx); errors.Is(cause, auth.ErrTokenExpired) || errors.Is(cause, auth.ErrTokenRevoked) {
		t.Fatalf("a stream its caller ended: cause %v", cause)
	}
}
