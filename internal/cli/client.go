package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls one EstateFlow server as one token's holder.
type Client struct {
	// Server is the server's base URL, such as http://localhost:8080.
	Server string
	// Token is the API token sent as a bearer token ("" for none).
	Token string
	// HTTP makes the requests (default: a client with a 30s timeout).
	HTTP *http.Client
}

// maxResponse bounds a response body read into memory.
const maxResponse = 64 << 20

// APIError is a refusal by the server: its extensions.code (or the REST
// error's code), message and the field at fault.
type APIError struct {
	Code    string
	Message string
	Field   string
	// RetryAfter is when the server asked to be asked again (GraphQL's
	// extensions.retryAfter, REST's Retry-After header); 0 if it did not.
	RetryAfter time.Duration `json:"-"`
}

func (e *APIError) Error() string {
	code := e.Code
	if code == "" {
		code = "ERROR"
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (field %s)", code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", code, e.Message)
}

// IsCode reports whether err is an APIError with the code.
func IsCode(err error, code string) bool {
	var e *APIError
	return errors.As(err, &e) && e.Code == code
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

func (c *Client) endpoint(path string) (string, error) {
	u, err := url.Parse(strings.TrimRight(c.Server, "/") + path)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", Usage("--server %q: want an http:// or https:// URL", c.Server)
	}
	return u.String(), nil
}

// graphqlError is one entry of a GraphQL response's errors.
type graphqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code       string `json:"code"`
		Field      string `json:"field"`
		RetryAfter int    `json:"retryAfter"` // seconds
	} `json:"extensions"`
}

func (g graphqlError) apiError() *APIError {
	return &APIError{Code: g.Extensions.Code, Message: g.Message, Field: g.Extensions.Field,
		RetryAfter: time.Duration(g.Extensions.RetryAfter) * time.Second}
}

// Do sends a GraphQL operation and decodes its data into out. A refusal
// is an *APIError (the first of the response's errors); both it and a
// server that cannot be reached exit with ExitConnection.
func (c *Client) Do(ctx context.Context, query string, vars map[string]any, out any) error {
	endpoint, err := c.endpoint("/graphql")
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/graphql-response+json, application/json")
	raw, status, err := c.send(req)
	if err != nil {
		return err
	}
	var resp struct {
		Data   json.RawMessage `json:"data"`
		Errors []graphqlError  `json:"errors"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return withCode(ExitConnection, fmt.Errorf("%s answered %d with no GraphQL response", endpoint, status))
	}
	if len(resp.Errors) > 0 {
		return withCode(ExitConnection, resp.Errors[0].apiError())
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Data, out); err != nil {
		return fmt.Errorf("decoding the response: %w", err)
	}
	return nil
}

// Get fetches a REST path (such as /api/v1/runs/ID/report?format=md)
// and returns its body. A refusal is an *APIError from the REST error's
// code and message.
func (c *Client) Get(ctx context.Context, path string) ([]byte, error) {
	endpoint, err := c.endpoint(path)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, err
	}
	raw, status, err := c.send(req)
	if err != nil {
		return nil, err
	}
	if status/100 == 2 {
		return raw, nil
	}
	var rest struct {
		Error *APIError `json:"error"`
	}
	if json.Unmarshal(raw, &rest) == nil && rest.Error != nil && rest.Error.Code != "" {
		return nil, withCode(ExitConnection, rest.Error)
	}
	return nil, withCode(ExitConnection, fmt.Errorf("GET %s: HTTP %d", path, status))
}

// send makes the request with the token and reads the whole body.
func (c *Client) send(req *http.Request) ([]byte, int, error) {
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, 0, ctxErr
		}
		return nil, 0, withCode(ExitConnection, fmt.Errorf("cannot reach %s: %w", c.Server, unwrapURLError(err)))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, 0, withCode(ExitConnection, fmt.Errorf("reading the response of %s: %w", c.Server, err))
	}
	return raw, resp.StatusCode, nil
}

// unwrapURLError drops url.Error's repetition of the method and URL.
func unwrapURLError(err error) error {
	var u *url.Error
	if errors.As(err, &u) {
		return u.Err
	}
	return err
}

// UnmarshalJSON reads a REST error ({"code","message","field"}).
func (e *APIError) UnmarshalJSON(b []byte) error {
	var v struct{ Code, Message, Field string }
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = APIError{Code: v.Code, Message: v.Message, Field: v.Field}
	return nil
}
