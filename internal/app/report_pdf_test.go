package app

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// printToPDF opens url in headless chromium with the bearer token and prints
// the page to PDF, as a browser's "Save as PDF" does with the page's own
// print CSS (@page size, page breaks).
func printToPDF(t *testing.T, url, token string) []byte {
	t.Helper()
	allocCtx, cancelAlloc := chromiumAllocator(t)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	// The first run starts the browser and must not carry a timeout (it
	// would stop the browser); the rest is bounded.
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{})
		return err
	})); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	runCtx, stop := context.WithTimeout(ctx, 60*time.Second)
	defer stop()
	var pdf []byte
	err := chromedp.Do(runCtx,
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders,
				network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer " + token}})
			return err
		}),
		chromedp.Navigate(url),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			yes := true
			res, err := cdp.Call(ctx, t, page.PrintToPDF, page.PrintToPDFParams{PrintBackground: &yes, PreferCSSPageSize: &yes})
			pdf = res.Data
			return err
		}),
	)
	if err != nil {
		t.Fatalf("printing %s to PDF: %v", url, err)
	}
	return pdf
}

var (
	pdfPageObject = regexp.MustCompile(`/Type\s*/Page\b`)
	pdfPageCount  = regexp.MustCompile(`/Type\s*/Pages\b[^>]*?/Count\s+(\d+)|/Count\s+(\d+)[^>]*?/Type\s*/Pages\b`)
)

// pdfPages counts a PDF's pages twice, by its page objects and by its page
// tree's /Count, and fails unless both agree.
func pdfPages(t *testing.T, pdf []byte) int {
	t.Helper()
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", pdf[:min(len(pdf), 16)])
	}
	objects := len(pdfPageObject.FindAll(pdf, -1))
	m := pdfPageCount.FindSubmatch(pdf)
	if m == nil {
		t.Fatal("the PDF has no page tree with a /Count")
	}
	count, err := strconv.Atoi(string(m[1]) + string(m[2]))
	if err != nil {
		t.Fatal(errors.New("the page tree's /Count is not a number"))
	}
	if objects != count {
		t.Fatalf("the PDF has %d page objects and a page tree of %d", objects, count)
	}
	return count
}
