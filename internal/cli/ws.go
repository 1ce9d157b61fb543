package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// The graphql-transport-ws protocol's subprotocol name and the close code
// the server uses for a refused token.
const (
	transportWS       = "graphql-transport-ws"
	closeUnauthorized = 4401
	closeForbidden    = 4403
	maxMessage        = 4 << 20
	handshakeTimeout  = 10 * time.Second
	subscriptionOpID  = "1"
)

// wsMessage is a graphql-transport-ws message.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// subscription is one GraphQL subscription on a websocket of its own.
type subscription struct {
	conn *websocket.Conn
}

// subscribe opens a websocket, authenticates it through connection_init
// and starts one subscription.
func (c *Client) subscribe(ctx context.Context, query string, vars map[string]any) (*subscription, error) {
	endpoint, err := c.endpoint("/graphql")
	if err != nil {
		return nil, err
	}
	endpoint = "ws" + strings.TrimPrefix(endpoint, "http") // http→ws, https→wss
	dialCtx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	conn, _, err := websocket.Dial(dialCtx, endpoint, &websocket.DialOptions{Subprotocols: []string{transportWS}})
	if err != nil {
		return nil, fmt.Errorf("opening a websocket to %s: %w", c.Server, unwrapURLError(err))
	}
	conn.SetReadLimit(maxMessage)
	s := &subscription{conn: conn}
	init := map[string]any{}
	if c.Token != "" {
		init["Authorization"] = "Bearer " + c.Token
	}
	if err := s.write(dialCtx, wsMessage{Type: "connection_init", Payload: mustJSON(init)}); err != nil {
		s.close()
		return nil, err
	}
	for {
		msg, err := s.read(dialCtx)
		if err != nil {
			s.close()
			return nil, err
		}
		if msg.Type == "connection_ack" {
			break
		}
		if msg.Type == "ping" {
			if err := s.write(dialCtx, wsMessage{Type: "pong"}); err != nil {
				s.close()
				return nil, err
			}
		}
	}
	payload := mustJSON(map[string]any{"query": query, "variables": vars})
	if err := s.write(dialCtx, wsMessage{ID: subscriptionOpID, Type: "subscribe", Payload: payload}); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// next returns the data of the subscription's next result. It returns
// io.EOF when the server completes the subscription, an *APIError for a
// GraphQL error, and the connection's error when it drops.
func (s *subscription) next(ctx context.Context) (json.RawMessage, error) {
	for {
		msg, err := s.read(ctx)
		if err != nil {
			return nil, err
		}
		switch msg.Type {
		case "ping":
			if err := s.write(ctx, wsMessage{Type: "pong"}); err != nil {
				return nil, err
			}
		case "next":
			var result struct {
				Data   json.RawMessage `json:"data"`
				Errors []graphqlError  `json:"errors"`
			}
			if err := json.Unmarshal(msg.Payload, &result); err != nil {
				return nil, fmt.Errorf("a malformed subscription result: %w", err)
			}
			if len(result.Errors) > 0 {
				return nil, result.Errors[0].apiError()
			}
			return result.Data, nil
		case "error":
			var errs []graphqlError
			if err := json.Unmarshal(msg.Payload, &errs); err != nil || len(errs) == 0 {
				return nil, &APIError{Code: "INTERNAL", Message: "the subscription failed"}
			}
			return nil, errs[0].apiError()
		case "complete":
			return nil, io.EOF
		}
	}
}

func (s *subscription) read(ctx context.Context) (wsMessage, error) {
	_, data, err := s.conn.Read(ctx)
	if err != nil {
		return wsMessage{}, closeError(err)
	}
	var msg wsMessage
	if err := json.Unmarshal(data, &msg); err != nil {
		return wsMessage{}, fmt.Errorf("a malformed websocket message: %w", err)
	}
	return msg, nil
}

func (s *subscription) write(ctx context.Context, msg wsMessage) error {
	data, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if err := s.conn.Write(ctx, websocket.MessageText, data); err != nil {
		return closeError(err)
	}
	return nil
}

// close ends the subscription and the connection without waiting for the
// server's side of the close handshake.
func (s *subscription) close() { _ = s.conn.CloseNow() }

// closeError turns the server's refusals by close code into APIErrors:
// a token refused (4401, 4403) is not worth a reconnection; other closes
// and drops are.
func closeError(err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		switch int(ce.Code) {
		case closeUnauthorized:
			return &APIError{Code: "UNAUTHENTICATED", Message: ce.Reason}
		case closeForbidden:
			return &APIError{Code: "FORBIDDEN", Message: ce.Reason}
		}
	}
	return err
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings and plain values are marshaled
	}
	return b
}
