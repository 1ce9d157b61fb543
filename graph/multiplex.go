package graph

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/estateflow/estateflow/ent"
	"github.com/estateflow/estateflow/tenant"
)

// Multiplexing of run-state subscriptions (runUpdated, runsUpdated).
//
// The engine hands every subscriber of a change the same *ent.Run, the
// state the change committed. gqlgen would resolve and serialise that state
// once per subscriber. multiplexSchema wraps the generated schema so that
// it is resolved and serialised once per state, operation (query text,
// operation name and variables: the selection set) and viewer's
// organization and role, and every subscriber that shares them is sent the
// same bytes.
//
// gqlgen runs a subscription as Exec, once, and then a ResponseHandler per
// message. For these two fields Exec runs the generated Exec with a capture
// in the context: the resolver subscribes to the engine as always (so
// arguments, authorisation and refusals are gqlgen's own) and leaves its
// channel in the capture. The handler returned reads that channel; for a
// state it has not rendered for this operation yet, it runs the generated
// Exec again with the state fed to the resolver, which then returns a
// channel holding only that state, and keeps the data it produced. Data
// whose resolution reported errors is not shared: each subscriber resolves
// its own, and gets its own errors.
//
// What stays per subscriber is gqlgen's websocket transport: it wraps the
// shared data in its message and marshals that for each connection.
type multiplexSchema struct {
	graphql.ExecutableSchema
	frames *frameCache
}

func newMultiplexSchema(inner graphql.ExecutableSchema) *multiplexSchema {
	return &multiplexSchema{ExecutableSchema: inner, frames: newFrameCache(4096, 16<<20, 10*time.Second)}
}

// multiplexed are the subscription fields whose events are shared states.
var multiplexed = map[string]bool{"runUpdated": true, "runsUpdated": true}

// Exec implements graphql.ExecutableSchema.
func (m *multiplexSchema) Exec(ctx context.Context) graphql.ResponseHandler {
	opCtx := graphql.GetOperationContext(ctx)
	if opCtx == nil || opCtx.Operation == nil || opCtx.Operation.Operation != ast.Subscription {
		return m.ExecutableSchema.Exec(ctx)
	}
	fields := graphql.CollectFields(opCtx, opCtx.Operation.SelectionSet, []string{"Subscription"})
	if len(fields) != 1 || !multiplexed[fields[0].Name] {
		return m.ExecutableSchema.Exec(ctx)
	}
	c := &runCapture{}
	inner := m.ExecutableSchema.Exec(context.WithValue(ctx, runCaptureKey{}, c))
	if c.ch == nil || len(graphql.GetErrors(ctx)) > 0 {
		return inner // refused: gqlgen answers with the errors
	}
	key := operationKey{query: opCtx.RawQuery, name: opCtx.OperationName}
	if len(opCtx.Variables) > 0 {
		vars, err := json.Marshal(opCtx.Variables)
		if err != nil {
			return inner // not shared, but served
		}
		key.variables = string(vars)
	}
	if v, ok := tenant.FromContext(ctx); ok {
		key.orgID, key.role = v.OrgID, v.Role
	}
	return func(ctx context.Context) *graphql.Response {
		select {
		case r, ok := <-c.ch:
			if !ok {
				return nil
			}
			return m.render(ctx, key, r)
		case <-ctx.Done():
			return nil
		}
	}
}

// render returns the response for r: shared data if the operation rendered
// r already, else data it renders now (and shares, if error-free).
func (m *multiplexSchema) render(ctx context.Context, key operationKey, r *ent.Run) *graphql.Response {
	e, first := m.frames.entry(frameKey{run: r, op: key})
	if !first {
		<-e.done
		if e.data != nil {
			return &graphql.Response{Data: e.data}
		}
		return m.renderOne(ctx, r) // the first rendering had errors
	}
	before := len(graphql.GetErrors(ctx))
	resp := m.renderOne(ctx, r)
	var shared []byte
	if resp != nil && len(graphql.GetErrors(ctx)) == before && len(resp.Errors) == 0 {
		shared = resp.Data
	}
	m.frames.done(e, shared)
	return resp
}

// renderOne runs the generated Exec for the single state r.
func (m *multiplexSchema) renderOne(ctx context.Context, r *ent.Run) *graphql.Response {
	feed := make(chan *ent.Run, 1)
	feed <- r
	close(feed)
	h := m.ExecutableSchema.Exec(context.WithValue(ctx, runFeedKey{}, (<-chan *ent.Run)(feed)))
	resp := h(ctx)
	if resp == nil {
		return nil
	}
	// The generated handler reuses its buffer on its next call; there is
	// none, so the bytes are this response's.
	return resp
}

// runCapture receives the channel a multiplexed subscription's resolver
// subscribed to.
type runCapture struct{ ch <-chan *ent.Run }

type runCaptureKey struct{}

type runFeedKey struct{}

// runStream is what the runUpdated and runsUpdated resolvers return: the
// fed state when multiplexSchema renders one, else the engine's channel from
// subscribe, which a capture in ctx also receives.
func runStream(ctx context.Context, subscribe func() (<-chan *ent.Run, error)) (<-chan *ent.Run, error) {
	if feed, ok := ctx.Value(runFeedKey{}).(<-chan *ent.Run); ok {
		return feed, nil
	}
	ch, err := subscribe()
	if err != nil {
		return nil, err
	}
	if c, ok := ctx.Value(runCaptureKey{}).(*runCapture); ok {
		c.ch = ch
	}
	return ch, nil
}

// operationKey identifies what a subscriber's data depends on besides the
// state: its operation and who may see what.
type operationKey struct {
	query, name, variables string
	orgID                  int
	role                   tenant.Role
}

type frameKey struct {
	run *ent.Run // one committed state, shared by its subscribers
	op  operationKey
}

// frame is one state rendered for one operation; data is set (or left nil
// when the rendering had errors) before done closes.
type frame struct {
	done chan struct{}
	data []byte
}

// frameCache keeps the frames of recent states in two generations, so that
// it stays bounded: when the current one fills (in frames or in bytes) or
// has lived for a window, it becomes the previous and the previous is
// dropped. A state's subscribers read it within moments of one another;
// one that comes after its frame was dropped renders it again. The window
// is what lets a quiet server forget: without it, the frames of the last
// busy minute (a run's whole steps, rendered for every operation) would be
// held until as many new ones came along.
type frameCache struct {
	limit    int           // frames per generation
	maxBytes int           // rendered bytes per generation
	window   time.Duration // a generation's longest life

	mu        sync.Mutex
	cur, prev map[frameKey]*frame
	curBytes  int
	timer     *time.Timer // rotates after window while a generation holds frames; nil when none
}

func newFrameCache(limit, maxBytes int, window time.Duration) *frameCache {
	return &frameCache{limit: limit, maxBytes: maxBytes, window: window, cur: map[frameKey]*frame{}, prev: map[frameKey]*frame{}}
}

// entry returns k's frame, and whether the caller created it and so must
// render it, then call done.
func (c *frameCache) entry(k frameKey) (*frame, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.cur[k]; ok {
		return f, false
	}
	if f, ok := c.prev[k]; ok {
		return f, false
	}
	f := &frame{done: make(chan struct{})}
	c.cur[k] = f
	if len(c.cur) >= c.limit {
		c.rotateLocked()
	}
	c.armLocked()
	return f, true
}

// done records f's rendered data (nil: not shared) and releases its
// waiters.
func (c *frameCache) done(f *frame, data []byte) {
	c.mu.Lock()
	f.data = data
	c.curBytes += len(data)
	if c.curBytes >= c.maxBytes {
		c.rotateLocked()
	}
	c.mu.Unlock()
	close(f.done)
}

func (c *frameCache) rotateLocked() {
	c.prev, c.cur, c.curBytes = c.cur, make(map[frameKey]*frame), 0
}

// armLocked starts the window's timer unless it runs. Each firing rotates,
// and fires again while frames remain, so that an idle cache is empty two
// windows after its last frame. The timer's function runs briefly and
// ends; nothing waits for it.
func (c *frameCache) armLocked() {
	if c.timer != nil {
		return
	}
	c.timer = time.AfterFunc(c.window, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.timer = nil
		c.rotateLocked()
		if len(c.prev) > 0 {
			c.armLocked()
		}
	})
}

// size is how many frames are kept, for tests.
func (c *frameCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.prev)
}
