package graph

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/estateflow/estateflow/internal/errcode"
	"github.com/estateflow/estateflow/tenant"
)

// streamTokenHeader and streamTokenParam carry a graphql-sse reservation.
const (
	streamTokenHeader = "X-GraphQL-Event-Stream-Token"
	streamTokenParam  = "token"
)

// sseSingleConnection is graphql-sse's single connection mode
// (PROTOCOL.md of the graphql-sse package):
//
//   - PUT /graphql reserves a stream: 201 and a reservation token as text;
//   - GET /graphql with the token (X-GraphQL-Event-Stream-Token or ?token=)
//     and Accept: text/event-stream opens it; one connection per
//     reservation, and the reservation ends with it;
//   - POST (or GET) /graphql with the token starts an operation whose
//     extensions.operationId names it: 202, and its results arrive on the
//     stream as next events {"id", "payload"}, then a complete event {"id"};
//   - DELETE /graphql?operationId=… with the token stops one.
//
// Every request is authenticated as any other (the auth middleware runs
// first), and a reservation answers only to the API token that made it:
// another token is told, as for an unknown reservation, 404. A token holds
// at most MaxPerToken reservations and each at most MaxOperations
// operations; a reservation whose stream does not open within reserveTTL
// lapses, with its operations.
type sseSingleConnection struct {
	maxPerToken   int
	maxOperations int
	writeTimeout  time.Duration
	keepAlive     time.Duration
	reserveTTL    time.Duration
	logger        *slog.Logger

	mu      sync.Mutex
	streams map[string]*reservedStream
}

func newSSESingleConnection(maxPerToken, maxOperations int, writeTimeout time.Duration, logger *slog.Logger) *sseSingleConnection {
	return &sseSingleConnection{
		maxPerToken: maxPerToken, maxOperations: maxOperations, writeTimeout: writeTimeout,
		keepAlive: 15 * time.Second, reserveTTL: 30 * time.Second, logger: logger,
		streams: map[string]*reservedStream{},
	}
}

// reservedStream is one reservation and, once opened, its stream.
type reservedStream struct {
	key     string
	tokenID int
	ctx     context.Context // ends with the reservation
	end     context.CancelFunc
	events  chan []byte // SSE frames waiting for the stream

	// guarded by sseSingleConnection.mu
	opened bool
	ops    map[string]*streamOperation
}

type streamOperation struct {
	cancel  context.CancelFunc
	stopped bool // by DELETE: no complete event follows
}

// eventBuffer is how many frames wait for a stream; an operation whose
// next frame does not fit waits, and a subscription that waits too long is
// ended by the engine as a slow consumer.
const eventBuffer = 32

var _ graphql.Transport = (*sseSingleConnection)(nil)

// Supports implements graphql.Transport: a PUT without a body, or a
// request that carries a reservation token.
func (s *sseSingleConnection) Supports(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" {
		return false
	}
	if r.Method == http.MethodPut {
		return r.ContentLength <= 0 && r.Header.Get("Content-Type") == ""
	}
	return streamKey(r) != ""
}

func streamKey(r *http.Request) string {
	if k := r.Header.Get(streamTokenHeader); k != "" {
		return k
	}
	return r.URL.Query().Get(streamTokenParam)
}

// Do implements graphql.Transport.
func (s *sseSingleConnection) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media := responseMediaType(r)
	viewer, ok := tenant.FromContext(r.Context())
	if !ok {
		writeErrors(w, media, http.StatusUnauthorized, gqlerror.List{codedError(errcode.Unauthenticated, "", "authentication required")})
		return
	}
	if r.Method == http.MethodPut {
		s.reserve(w, media, viewer.TokenID)
		return
	}
	stream := s.lookup(streamKey(r), viewer.TokenID)
	if stream == nil {
		writeErrors(w, media, http.StatusNotFound, gqlerror.List{codedError(errcode.NotFound, streamTokenHeader,
			"no event stream is reserved under this token: reserve one with PUT")})
		return
	}
	switch {
	case r.Method == http.MethodGet && strings.Contains(r.Header.Get("Accept"), "text/event-stream"):
		s.serveStream(w, r, stream)
	case r.Method == http.MethodGet, r.Method == http.MethodPost && hasContentType(r, mediaJSON):
		s.start(w, r, exec, media, stream)
	case r.Method == http.MethodDelete:
		s.stop(w, r, media, stream)
	default:
		refusingTransport{}.Do(w, r, exec)
	}
}

func (s *sseSingleConnection) reserve(w http.ResponseWriter, media string, tokenID int) {
	var raw [24]byte
	_, _ = rand.Read(raw[:])
	key := base64.RawURLEncoding.EncodeToString(raw[:])
	ctx, end := context.WithCancel(context.Background())
	stream := &reservedStream{key: key, tokenID: tokenID, ctx: ctx, end: end,
		events: make(chan []byte, eventBuffer), ops: map[string]*streamOperation{}}

	s.mu.Lock()
	held := 0
	for _, other := range s.streams {
		if other.tokenID == tokenID {
			held++
		}
	}
	if s.maxPerToken > 0 && held >= s.maxPerToken {
		s.mu.Unlock()
		end()
		writeErrors(w, media, http.StatusTooManyRequests, gqlerror.List{codedError(errcode.RateLimited, "",
			"this token holds %d event stream reservations, the most it may; close one first", held)})
		return
	}
	s.streams[key] = stream
	s.mu.Unlock()

	time.AfterFunc(s.reserveTTL, func() {
		s.mu.Lock()
		lapsed := !stream.opened
		s.mu.Unlock()
		if lapsed {
			s.release(stream)
		}
	})
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, key)
}

// lookup finds the token's reservation under key.
func (s *sseSingleConnection) lookup(key string, tokenID int) *reservedStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	stream := s.streams[key]
	if stream == nil || stream.tokenID != tokenID {
		return nil
	}
	return stream
}

// release ends a reservation and every operation on it.
func (s *sseSingleConnection) release(stream *reservedStream) {
	s.mu.Lock()
	if s.streams[stream.key] == stream {
		delete(s.streams, stream.key)
	}
	s.mu.Unlock()
	stream.end() // the operations' contexts end with it
}

// serveStream writes the reservation's events until the client goes, the
// token's streams are ended (revocation), or a write stalls past the write
// timeout.
func (s *sseSingleConnection) serveStream(w http.ResponseWriter, r *http.Request, stream *reservedStream) {
	s.mu.Lock()
	if stream.opened {
		s.mu.Unlock()
		writeErrors(w, responseMediaType(r), http.StatusConflict, gqlerror.List{codedError(errcode.Conflict, streamTokenHeader,
			"the reservation's stream is already open")})
		return
	}
	stream.opened = true
	s.mu.Unlock()
	defer s.release(stream)

	rc := http.NewResponseController(w)
	write := func(frame string) bool {
		if s.writeTimeout > 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(s.writeTimeout))
		}
		if _, err := io.WriteString(w, frame); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Connection", "keep-alive")
	w.WriteHeader(http.StatusOK)
	if !write(":\n\n") {
		return
	}
	ping := time.NewTicker(s.keepAlive)
	defer ping.Stop()
	for {
		select {
		case frame := <-stream.events:
			if !write(string(frame)) {
				s.logger.WarnContext(r.Context(), "graphql: closing a stalled or broken SSE stream")
				return
			}
			ping.Reset(s.keepAlive)
		case <-ping.C:
			if !write(":\n\n") {
				return
			}
		case <-r.Context().Done():
			return
		case <-stream.ctx.Done():
			return
		}
	}
}

// start runs an operation whose results go to the stream.
func (s *sseSingleConnection) start(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, media string, stream *reservedStream) {
	params, perr := requestParams(r)
	if perr != nil {
		writeErrors(w, media, http.StatusBadRequest, gqlerror.List{perr})
		return
	}
	opID, _ := params.Extensions["operationId"].(string)
	if opID == "" {
		writeErrors(w, media, http.StatusBadRequest, gqlerror.List{badInput("extensions.operationId",
			"an operation on a reserved stream needs extensions.operationId, a string that names it on the stream")})
		return
	}
	// The operation outlives this request: it keeps the request's values
	// (the viewer, the request ID) and ends with the reservation.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	stopWithStream := context.AfterFunc(stream.ctx, cancel)
	op := &streamOperation{cancel: cancel}

	s.mu.Lock()
	_, taken := stream.ops[opID]
	running := len(stream.ops)
	if !taken && (s.maxOperations <= 0 || running < s.maxOperations) {
		stream.ops[opID] = op
	}
	s.mu.Unlock()
	drop := func() {
		stopWithStream()
		cancel()
		s.mu.Lock()
		if stream.ops[opID] == op {
			delete(stream.ops, opID)
		}
		s.mu.Unlock()
	}
	switch {
	case taken:
		stopWithStream()
		cancel()
		writeErrors(w, media, http.StatusConflict, gqlerror.List{codedError(errcode.Conflict, "extensions.operationId",
			"an operation with this operationId is running on the stream")})
		return
	case s.maxOperations > 0 && running >= s.maxOperations:
		stopWithStream()
		cancel()
		writeErrors(w, media, http.StatusBadRequest, gqlerror.List{codedError(errcode.SubscriptionLimitExceeded, "",
			"the stream runs %d operations, the most it may; stop one first", running)})
		return
	}

	oc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		writeRequestErrors(w, media, exec.DispatchError(graphql.WithOperationContext(ctx, oc), errs).Errors)
		drop()
		return
	}
	if r.Method == http.MethodGet {
		if refusal, status := refuseOperation(r, oc.Operation); refusal != nil && status != 0 {
			writeErrors(w, media, status, gqlerror.List{refusal})
			drop()
			return
		}
	}
	w.WriteHeader(http.StatusAccepted)
	go func() {
		defer drop()
		responses, rctx := exec.DispatchOperation(ctx, oc)
		for {
			resp := responses(rctx)
			if resp == nil {
				break
			}
			if !s.send(ctx, stream, "next", map[string]any{"id": opID, "payload": resp}) {
				return
			}
		}
		s.mu.Lock()
		stopped := op.stopped
		s.mu.Unlock()
		if !stopped && ctx.Err() == nil {
			s.send(ctx, stream, "complete", map[string]any{"id": opID})
		}
	}()
}

// send queues one event for the stream, waiting while the queue is full.
func (s *sseSingleConnection) send(ctx context.Context, stream *reservedStream, event string, data any) bool {
	b, err := json.Marshal(data)
	if err != nil {
		s.logger.ErrorContext(ctx, "graphql: encoding an SSE event", "err", err)
		return false
	}
	select {
	case stream.events <- fmt.Appendf(nil, "event: %s\ndata: %s\n\n", event, b):
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *sseSingleConnection) stop(w http.ResponseWriter, r *http.Request, media string, stream *reservedStream) {
	opID := r.URL.Query().Get("operationId")
	if opID == "" {
		writeErrors(w, media, http.StatusBadRequest, gqlerror.List{badInput("operationId",
			"DELETE needs the operation to stop as ?operationId=")})
		return
	}
	s.mu.Lock()
	op := stream.ops[opID]
	if op != nil {
		op.stopped = true
		delete(stream.ops, opID)
	}
	s.mu.Unlock()
	if op != nil {
		op.cancel()
	}
	w.WriteHeader(http.StatusOK)
}
