package automation

import (
	"testing"
	"time"
)

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s: %v", name, err)
	}
	return loc
}

// TestCronNextAcrossDST checks the fire times on America/New_York's
// daylight-saving days of 2026: spring forward on March 8 (02:00 EST
// becomes 03:00 EDT) and fall back on November 1 (02:00 EDT becomes 01:00
// EST).
func TestCronNextAcrossDST(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, cron, after string
		want              []string
	}{
		{"daily 02:30 fires once at the end of the spring gap, then at 02:30 EDT", "30 2 * * *", "2026-03-07T12:00:00-05:00",
			[]string{"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}},
		{"daily 02:30 the day before spring", "30 2 * * *", "2026-03-06T12:00:00-05:00",
			[]string{"2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00"}},
		{"daily 01:30 fires once on the fall-back day, at its first instance", "30 1 * * *", "2026-10-31T12:00:00-04:00",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"hourly at :30 fires in both 01:xx hours of the fall-back day", "30 * * * *", "2026-11-01T00:45:00-04:00",
			[]string{"2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00", "2026-11-01T02:30:00-05:00"}},
		{"hourly at :30 has no 02:30 on the spring-forward day", "30 * * * *", "2026-03-08T01:00:00-05:00",
			[]string{"2026-03-08T01:30:00-05:00", "2026-03-08T03:30:00-04:00"}},
		{"every 30 minutes of hour 1: each wall time once on the fall-back day", "*/30 1 * * *", "2026-11-01T00:00:00-04:00",
			[]string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-02T01:00:00-05:00"}},
		{"9:00 on the first day of each quarter", "0 9 1 1,4,7,10 *", "2026-02-15T00:00:00-05:00",
			[]string{"2026-04-01T09:00:00-04:00", "2026-07-01T09:00:00-04:00", "2026-10-01T09:00:00-04:00", "2027-01-01T09:00:00-05:00"}},
		{"Mondays at 8:00", "0 8 * * 1", "2026-12-05T10:00:00-05:00",
			[]string{"2026-12-07T08:00:00-05:00", "2026-12-14T08:00:00-05:00"}},
		{"day-of-month or day-of-week when both are set", "0 8 1 * 1", "2026-11-29T00:00:00-05:00",
			[]string{"2026-11-30T08:00:00-05:00", "2026-12-01T08:00:00-05:00", "2026-12-07T08:00:00-05:00"}},
		{"@daily is midnight local", "@daily", "2026-12-05T10:00:00-05:00",
			[]string{"2026-12-06T00:00:00-05:00"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCron(tc.cron)
			if err != nil {
				t.Fatal(err)
			}
			got := c.NextN(at(tc.after), ny, len(tc.want))
			if len(got) != len(tc.want) {
				t.Fatalf("got %d times %v, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				if !got[i].Equal(at(w)) {
					t.Errorf("fire %d: got %s, want %s", i, got[i].In(ny).Format(time.RFC3339), w)
				}
			}
		})
	}
}

// TestCronOtherZones checks that the same expression fires at the local
// time of each zone, including one whose change is half an hour
// (Australia/Lord_Howe) and one without daylight saving (Asia/Kolkata).
func TestCronOtherZones(t *testing.T) {
	c, err := ParseCron("0 9 * * *")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	for _, name := range []string{"America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe"} {
		loc := mustLoad(t, name)
		got := c.Next(from, loc).In(loc)
		if got.Hour() != 9 || got.Minute() != 0 || !got.After(from) || got.Sub(from) > 48*time.Hour {
			t.Errorf("%s: next 09:00 after %s is %s", name, from, got)
		}
	}
	// Lord Howe moves its clocks by 30 minutes: 02:00 becomes 02:30 on
	// the first Sunday of October; 02:15 does not exist that day.
	lh := mustLoad(t, "Australia/Lord_Howe")
	c2, _ := ParseCron("15 2 * * *")
	got := c2.Next(time.Date(2026, 10, 3, 12, 0, 0, 0, lh), lh).In(lh)
	if got.Day() != 4 || got.Hour() != 2 || got.Minute() != 30 {
		t.Errorf("Lord Howe spring day: 02:15 fired at %s, want 02:30 on Oct 4 (the end of the gap)", got)
	}
}

func TestParseCronRefuses(t *testing.T) {
	for _, expr := range []string{"", "61 * * * *", "* * *", "TZ=UTC 0 9 * * *", "@every 1h", "0 25 * * *", "hello"} {
		if _, err := ParseCron(expr); err == nil {
			t.Errorf("ParseCron(%q) accepted it", expr)
		}
	}
	if _, err := ParseCron("0 0 30 2 *"); err != nil {
		t.Fatalf("February 30 parses (it never fires): %v", err)
	}
	c, _ := ParseCron("0 0 30 2 *")
	if got := c.Next(time.Now(), time.UTC); !got.IsZero() {
		t.Errorf("February 30 fired at %s", got)
	}
}
