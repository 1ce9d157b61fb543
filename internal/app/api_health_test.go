package app

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

// TestReadyzFollowsTheEngine: ready while the engine runs, not ready (503,
// naming the failing check) once it stops, as during a shutdown.
func TestReadyzFollowsTheEngine(t *testing.T) {
	t.Parallel()
	api := newTestAPI(t, testOptions{})
	probe := func() (int, map[string]any) {
		t.Helper()
		resp, err := http.Get(api.srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, body
	}
	if status, body := probe(); status != http.StatusOK || body["ready"] != true {
		t.Fatalf("running: %d %v", status, body)
	}
	if err := api.engine.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	status, body := probe()
	checks, _ := body["checks"].(map[string]any)
	if status != http.StatusServiceUnavailable || body["ready"] != false || checks["jobs"] != "failing" || checks["events"] != "failing" || checks["database"] != "ok" {
		t.Fatalf("stopped: %d %v", status, body)
	}
}
