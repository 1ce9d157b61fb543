package web_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/estateflow/estateflow/web"
)

func page(t *testing.T) string {
	t.Helper()
	rec := httptest.NewRecorder()
	web.PlaygroundHandler("EstateFlow", "/graphql").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	return rec.Body.String()
}

// TestPlaygroundOffersATokenField: the page carries its own token field,
// kept in localStorage, and a fetcher that sends headers with every request,
// the schema's introspection included.
func TestPlaygroundOffersATokenField(t *testing.T) {
	t.Parallel()
	body := page(t)
	for _, want := range []string{
		`<input id="api-token"`,
		`localStorage.setItem(tokenKey, token)`,
		`localStorage.getItem(tokenKey)`,
		`return base(params, { ...opts, headers });`, // every request gets headers, introspection included
		`storage.getItem('graphiql:headers')`,        // the Headers tab, before its editor exists
		`wsConnectionParams: tokenHeaders`,           // subscriptions authenticate in connection_init
		`isHeadersEditorEnabled: true`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}

// TestPlaygroundAssetsMatchTheirIntegrity: each script and style the page
// loads is served from the embedded assets, with the hash the page pins.
func TestPlaygroundAssetsMatchTheirIntegrity(t *testing.T) {
	t.Parallel()
	body := page(t)
	tags := regexp.MustCompile(`(?:src|href)="([^"]+)" integrity="sha256-([^"]+)"`).FindAllStringSubmatch(body, -1)
	if len(tags) != 4 {
		t.Fatalf("%d pinned assets on the page, want 4 (react, react-dom, graphiql js and css)", len(tags))
	}
	assets := web.AssetsHandler()
	for _, tag := range tags {
		if !strings.HasPrefix(tag[1], web.AssetsPath) {
			t.Errorf("%s is not an embedded asset: the page must work offline", tag[1])
			continue
		}
		rec := httptest.NewRecorder()
		assets.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tag[1], nil))
		sum := sha256.Sum256(rec.Body.Bytes())
		// html/template writes + as &#43; in attributes; browsers decode it.
		if rec.Code != http.StatusOK || base64.StdEncoding.EncodeToString(sum[:]) != html.UnescapeString(tag[2]) {
			t.Errorf("%s: %d, hash does not match its integrity attribute", tag[1], rec.Code)
		}
	}
}

// TestPlaygroundFetcherSendsTheToken runs the page's script under Node, when
// it is installed, with GraphiQL, React and the DOM replaced by recorders:
// the fetcher GraphiQL gets must send the stored token and the stored
// Headers tab on the first introspection, which GraphiQL makes before its
// Headers editor exists (opts without headers).
func TestPlaygroundFetcherSendsTheToken(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	scripts := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(page(t), -1)
	if len(scripts) != 1 {
		t.Fatalf("%d inline scripts, want 1", len(scripts))
	}
	harness := `
const store = new Map(Object.entries({
  'estateflow:token': 'ef_stored',
  'estateflowgraphiql:headers': '{"X-Request-ID": "from-the-tab"}',
}));
globalThis.localStorage = {
  getItem: (k) => store.has(k) ? store.get(k) : null,
  setItem: (k, v) => store.set(k, String(v)),
  removeItem: (k) => store.delete(k),
};
Object.defineProperty(localStorage, 'keys', { value: () => [...store.keys()] });
globalThis.location = { protocol: 'http:', host: 'localhost:8080' };
const element = () => ({ value: '', textContent: '', addEventListener() {} });
globalThis.document = { getElementById: element };
const calls = [];
let created;
globalThis.GraphiQL = { createFetcher: (o) => { created = o; return (params, opts) => { calls.push(opts.headers); return Promise.resolve({}); }; } };
let props;
globalThis.React = { createElement: (c, p) => p };
globalThis.ReactDOM = { render: (p) => { props = p; } };
` + scripts[0][1] + `
props.fetcher({ query: '{ __schema { queryType { name } } }' }, undefined);
props.fetcher({ query: '{ viewer { role } }' }, { headers: { Authorization: 'Bearer ef_tab' } });
console.log(JSON.stringify({ calls, ws: created.wsConnectionParams, url: created.url }));
`
	file := filepath.Join(t.TempDir(), "page.js")
	if err := os.WriteFile(file, []byte(harness), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, file).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got struct {
		Calls []map[string]string
		WS    map[string]string
		URL   string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(got.Calls) != 2 {
		t.Fatalf("%d fetches, want 2: %s", len(got.Calls), out)
	}
	if first := got.Calls[0]; first["Authorization"] != "Bearer ef_stored" || first["X-Request-ID"] != "from-the-tab" {
		t.Errorf("the first introspection sent %v, want the stored token and the Headers tab", first)
	}
	if second := got.Calls[1]; second["Authorization"] != "Bearer ef_tab" {
		t.Errorf("a request whose Headers tab sets Authorization sent %v, want the tab's to win", second)
	}
	if got.WS["Authorization"] != "Bearer ef_stored" {
		t.Errorf("websocket connection_init payload %v lacks the token", got.WS)
	}
	if got.URL != "http://localhost:8080/graphql" {
		t.Errorf("endpoint %q", got.URL)
	}
}
