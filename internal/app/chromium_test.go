package app

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium, which CI installs.
const chromiumPath = "/usr/bin/chromium"

// needChromium skips t when chromium is not installed, except on CI
// (CI=true), where its absence is a failure.
func needChromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath(chromiumPath)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("chromium is required on CI and is not at %s: apt-get install -y chromium", chromiumPath)
	}
	t.Skipf("skipping: chromium is not installed at %s (apt-get install -y chromium); CI=true makes this a failure", chromiumPath)
	return ""
}

// chromiumAllocator starts headless chromium for t (skipping t, or failing
// it on CI, when chromium is absent) with the flags this closed network
// needs: without the background-networking ones, chromium keeps trying to
// reach Google's hosts. extra options come after the defaults.
func chromiumAllocator(t *testing.T, extra ...chromedp.ExecAllocatorOption) (context.Context, context.CancelFunc) {
	t.Helper()
	path := needChromium(t)
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	}, extra...)
	return chromedp.NewExecAllocator(context.Background(), opts...)
}
