package httpserver_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/estateflow/estateflow/httpserver"
)

// TestCORSPreflightsOfGraphQLClients sends, over a real connection, the
// preflights that browsers send for Apollo Client's and urql's requests, then
// the request itself, and checks that both are allowed. The header lists are
// the libraries' defaults as the Fetch standard reports them: lower case,
// sorted, comma-separated, safelisted headers left out.
func TestCORSPreflightsOfGraphQLClients(t *testing.T) {
	t.Parallel()
	const origin = "https://app.example.com"
	srv := httptest.NewServer(httpserver.CORS(httpserver.ParseOrigins(origin))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"data":{}}`))
		})))
	t.Cleanup(srv.Close)

	clients := []struct {
		name string
		// requestHeaders is Access-Control-Request-Headers; sent, the
		// headers the request itself carries.
		requestHeaders string
		sent           map[string]string
	}{
		{
			name:           "Apollo Client with a client name and version",
			requestHeaders: "apollographql-client-name,apollographql-client-version,authorization,content-type",
			sent: map[string]string{
				"Apollographql-Client-Name":    "estateflow-web",
				"Apollographql-Client-Version": "1.4.0",
				"Accept":                       "application/graphql-response+json,application/json;q=0.9",
			},
		},
		{
			name:           "Apollo Client's multipart subscriptions (a quoted Accept is not safelisted)",
			requestHeaders: "accept,authorization,content-type",
			sent:           map[string]string{"Accept": `multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json`},
		},
		{
			name:           "Apollo's CSRF-prevention headers (iOS, Kotlin, upload links)",
			requestHeaders: "apollo-require-preflight,authorization,content-type,x-apollo-operation-name",
			sent:           map[string]string{"X-Apollo-Operation-Name": "Viewer", "Apollo-Require-Preflight": "true"},
		},
		{
			name:           "urql",
			requestHeaders: "authorization,content-type",
			sent:           map[string]string{"Accept": "application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed"},
		},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/graphql", nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", c.requestHeaders)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
				t.Fatalf("preflight answered %d with Access-Control-Allow-Origin %q: the browser refuses the request", resp.StatusCode, got)
			}
			allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
			for _, h := range strings.Split(c.requestHeaders, ",") {
				if !strings.Contains(allowed, h) {
					t.Errorf("Access-Control-Allow-Headers %q lacks %s", allowed, h)
				}
			}

			req, _ = http.NewRequest(http.MethodPost, srv.URL+"/graphql", strings.NewReader(`{"query":"{ viewer { role } }"}`))
			req.Header.Set("Origin", origin)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer ef_test")
			for k, v := range c.sent {
				req.Header.Set(k, v)
			}
			resp, err = srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
				t.Errorf("request answered %d with Access-Control-Allow-Origin %q", resp.StatusCode, got)
			}
		})
	}
}
