package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/ent/apitoken"
	"github.com/estateflow/estateflow/tenant"
)

// Errors of authentication. Clients see them all as UNAUTHENTICATED.
var (
	ErrUnknown = errors.New("auth: unknown token")
	ErrRevoked = errors.New("auth: token revoked")
	ErrExpired = errors.New("auth: token expired")
)

// lastUsedResolution throttles last-used writes to one per token per minute.
const lastUsedResolution = time.Minute

// Authenticator turns token secrets into viewers.
type Authenticator struct {
	client *ent.Client
	now    func() time.Time
	// MaxStreams bounds the open websocket and SSE streams of one token
	// (default 20).
	MaxStreams int
	// Logger reports what does not fail a request but should be known
	// (default slog.Default()).
	Logger *slog.Logger
	// LookupTimeout bounds the token lookup (default 5s). A database that
	// does not answer in time (a host that drops packets rather than
	// refusing them) is reported as unavailable, instead of holding the
	// request until the client gives up.
	LookupTimeout time.Duration
	// Lookups, when set, gives token lookups connections of their own, so
	// that they do not queue behind other work in the main pool and a
	// timeout can tell a busy server (no free slot within LookupTimeout)
	// from a database that does not answer.
	Lookups LookupPool

	mu      sync.Mutex
	streams map[int]map[*stream]struct{} // open subscriptions by token ID
	tracked int                          // Track calls, to pace pruning
}

type stream struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// New returns an authenticator over client.
func New(client *ent.Client) *Authenticator {
	return &Authenticator{client: client, now: time.Now, MaxStreams: 20, streams: map[int]map[*stream]struct{}{}}
}

func (a *Authenticator) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// Authenticate returns the viewer a secret acts for. An error that is not
// one of ErrMalformed, ErrUnknown, ErrRevoked and ErrExpired is the server's
// (the database could not be asked), not a verdict on the token.
func (a *Authenticator) Authenticate(ctx context.Context, secret string) (tenant.Viewer, error) {
	v, _, err := a.authenticate(ctx, secret)
	return v, err
}

// authenticate is Authenticate that also returns when the token expires
// (nil: never), for the streams tied to it.
func (a *Authenticator) authenticate(ctx context.Context, secret string) (tenant.Viewer, *time.Time, error) {
	if _, err := checkShape(secret); err != nil {
		return tenant.Viewer{}, nil, err
	}
	sys := tenant.SystemContext(ctx)
	client := a.client
	if a.Lookups != nil {
		waitCtx, cancelWait := context.WithTimeoutCause(sys, a.lookupTimeout(), errLookupBusy)
		release, err := a.Lookups.Acquire(waitCtx)
		busy := ctx.Err() == nil && errors.Is(context.Cause(waitCtx), errLookupBusy)
		cancelWait()
		if err != nil {
			if busy {
				return tenant.Viewer{}, nil, fmt.Errorf("auth: looking up token: %w", errLookupBusy)
			}
			return tenant.Viewer{}, nil, fmt.Errorf("auth: looking up token: %w", err)
		}
		defer release()
		client = a.Lookups.Client()
	}
	lookupCtx, cancel := context.WithTimeoutCause(sys, a.lookupTimeout(), errLookupTimedOut)
	defer cancel()
	tok, err := client.APIToken.Query().Where(apitoken.Hash(Hash(secret))).WithUser().Only(lookupCtx)
	// The cause, not err, tells: a canceled PostgreSQL query surfaces as
	// a driver error.
	timedOut := ctx.Err() == nil && errors.Is(context.Cause(lookupCtx), errLookupTimedOut)
	switch {
	case ent.IsNotFound(err):
		return tenant.Viewer{}, nil, ErrUnknown
	case err != nil && timedOut:
		return tenant.Viewer{}, nil, fmt.Errorf("auth: looking up token: %w (%w)", errLookupTimedOut, err)
	case err != nil:
		return tenant.Viewer{}, nil, fmt.Errorf("auth: looking up token: %w", err)
	case tok.RevokedAt != nil:
		return tenant.Viewer{}, nil, ErrRevoked
	case tok.ExpiresAt != nil && !a.now().Before(*tok.ExpiresAt):
		return tenant.Viewer{}, nil, ErrExpired
	}
	if tok.LastUsedAt == nil || a.now().Sub(*tok.LastUsedAt) >= lastUsedResolution {
		// Best effort: a failed write must not fail the request, but it
		// must be seen, or tokens would look unused. It shares the
		// lookup's connection and deadline, so that it cannot hold the
		// request longer than the lookup could.
		if err := client.APIToken.UpdateOneID(tok.ID).SetLastUsedAt(a.now()).Exec(lookupCtx); err != nil {
			a.logger().WarnContext(ctx, "auth: recording when the token was last used", "token_id", tok.ID, "err", err)
		}
	}
	return tenant.Viewer{OrgID: tok.OrganizationID, UserID: tok.UserID, TokenID: tok.ID, Role: tenant.Role(tok.Edges.User.Role)}, tok.ExpiresAt, nil
}

// errLookupTimedOut is a token lookup the database did not answer within
// LookupTimeout.
var errLookupTimedOut = errors.New("the database did not answer in time")

// errLookupBusy is a token lookup that found no free lookup connection
// within LookupTimeout: the server is busy, the database may well be fine.
var errLookupBusy = errors.New("the server is busy: every token lookup connection stayed in use")

// LookupPool lends the connections token lookups run on (database.LookupPool).
type LookupPool interface {
	// Acquire waits for a free connection until ctx ends; release gives it back.
	Acquire(ctx context.Context) (release func(), err error)
	// Client is an ent client over the pool's connections.
	Client() *ent.Client
}

func (a *Authenticator) lookupTimeout() time.Duration {
	if a.LookupTimeout > 0 {
		return a.LookupTimeout
	}
	return 5 * time.Second
}

// Issue creates a token for a user of the viewer's organization and
// returns its secret, which is not stored and cannot be shown again.
func (a *Authenticator) Issue(ctx context.Context, db *ent.Client, userID int, name string, expiresAt *time.Time) (string, *ent.APIToken, error) {
	if expiresAt != nil && !expiresAt.After(a.now()) {
		return "", nil, errors.New("auth: expiresAt must be in the future")
	}
	secret, prefix, hash := NewSecret()
	tok, err := db.APIToken.Create().SetUserID(userID).SetName(name).SetPrefix(prefix).SetHash(hash).
		SetNillableExpiresAt(expiresAt).Save(ctx)
	if err != nil {
		return "", nil, err
	}
	return secret, tok, nil
}

// Revoke revokes a token of the viewer's organization and ends its open
// subscriptions.
func (a *Authenticator) Revoke(ctx context.Context, id int) (*ent.APIToken, error) {
	tok, err := a.client.APIToken.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if tok.RevokedAt == nil {
		if tok, err = a.client.APIToken.UpdateOneID(id).SetRevokedAt(a.now()).Save(ctx); err != nil {
			return nil, err
		}
	}
	a.endStreams(id)
	return tok, nil
}

// ErrTokenRevoked is the cause given to the context of a subscription whose
// token was revoked.
var ErrTokenRevoked = errors.New("the token was revoked")

// ErrTokenExpired is the cause given to the context of a stream whose token
// expired while it was open.
var ErrTokenExpired = errors.New("the token has expired")

// Track ties a long-lived context (a websocket connection, an SSE stream)
// to its token: revoking the token cancels it (cause ErrTokenRevoked), and
// so does the token's expiry, at expiresAt (cause ErrTokenExpired; nil: the
// token does not expire). The returned function ends the tracking; a caller
// that cannot call it (a websocket's init hook) may drop it, and the entry
// is pruned once its context is done. The expiry timer is the context's
// own deadline: it stops when the context ends, however it ends.
//
// Track refuses with ErrTooManyStreams when the token already has
// MaxStreams open.
func (a *Authenticator) Track(ctx context.Context, tokenID int, expiresAt *time.Time) (context.Context, context.CancelFunc, error) {
	ctx, cancelTracking := context.WithCancelCause(ctx)
	stopExpiry := context.CancelFunc(func() {})
	if expiresAt != nil {
		ctx, stopExpiry = context.WithDeadlineCause(ctx, *expiresAt, ErrTokenExpired)
	}
	cancel := func(cause error) {
		// The tracking first, so that the expiry context inherits its cause.
		cancelTracking(cause)
		stopExpiry()
	}
	s := &stream{ctx: ctx, cancel: cancel}
	a.mu.Lock()
	// Counting and inserting under one lock: with two, concurrent calls
	// could all count below the limit and all insert.
	open := 0
	for other := range a.streams[tokenID] {
		if other.ctx.Err() == nil {
			open++
		}
	}
	if a.MaxStreams > 0 && open >= a.MaxStreams {
		a.mu.Unlock()
		cancel(nil)
		return nil, nil, ErrTooManyStreams
	}
	// Pruning here, rather than with a context.AfterFunc per stream, keeps
	// an idle subscription's memory small.
	a.tracked++
	if a.tracked%pruneEvery == 0 {
		a.pruneLocked()
	}
	set := a.streams[tokenID]
	if set == nil {
		set = map[*stream]struct{}{}
		a.streams[tokenID] = set
	}
	set[s] = struct{}{}
	a.mu.Unlock()
	noteTracked(ctx)
	return ctx, func() {
		a.mu.Lock()
		delete(a.streams[tokenID], s)
		if len(a.streams[tokenID]) == 0 {
			delete(a.streams, tokenID)
		}
		a.mu.Unlock()
		cancel(nil)
	}, nil
}

// ErrTooManyStreams refuses a stream over the token's limit.
var ErrTooManyStreams = errors.New("too many open subscription connections for this token")

// pruneEvery is how many Track calls pass between two prunings.
const pruneEvery = 256

// pruneLocked drops the entries of streams that have ended.
func (a *Authenticator) pruneLocked() {
	for id, set := range a.streams {
		for s := range set {
			if s.ctx.Err() != nil {
				delete(set, s)
			}
		}
		if len(set) == 0 {
			delete(a.streams, id)
		}
	}
}

func (a *Authenticator) endStreams(tokenID int) {
	a.mu.Lock()
	set := a.streams[tokenID]
	delete(a.streams, tokenID)
	a.mu.Unlock()
	for s := range set {
		s.cancel(ErrTokenRevoked)
	}
}
