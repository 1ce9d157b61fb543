package strategy

import (
	"strings"
	"testing"
	"time"

	"github.com/estateflow/estateflow/modules/calendar"
)

// TestTimelineMovesOffHolidays: milestones skip weekends, federal
// holidays and the holiday season, and each moved date says why.
func TestTimelineMovesOffHolidays(t *testing.T) {
	type want struct {
		date, movedFrom string
		reasonHas       []string
	}
	tests := []struct {
		name  string
		start string
		temp  string
		want  []want // PREP, PHOTOS, COMING_SOON, LIVE, OPEN_HOUSE, OFFER_REVIEW
	}{
		// Start on Saturday 2026-11-21: prep begins Monday the 23rd. Five
		// working days skip Thanksgiving (Thursday the 26th): photos on
		// Tuesday Dec 1 instead of Monday Nov 30.
		{"Thanksgiving", "2026-11-21", Balanced, []want{
			{date: "2026-11-23"}, {date: "2026-12-01", movedFrom: "2026-11-30", reasonHas: []string{"Thanksgiving Day (Thu Nov 26)"}},
			{date: "2026-12-02"}, {date: "2026-12-04"}, {date: "2026-12-05"}, {date: "2026-12-15"},
		}},
		// Going live would fall on Christmas Eve: it moves past the
		// holiday season to Monday January 4, naming each kind of day.
		{"Christmas to New Year", "2026-12-14", Balanced, []want{
			{date: "2026-12-14"}, {date: "2026-12-21"}, {date: "2026-12-22"},
			{date: "2027-01-04", movedFrom: "2026-12-24", reasonHas: []string{"Christmas Eve (Thu Dec 24)", "Christmas Day (Fri Dec 25)", "holiday season", "New Year's Eve (Thu Dec 31)", "New Year's Day (Fri Jan 1)"}},
			{date: "2027-01-09"}, {date: "2027-01-13"},
		}},
		// July 4, 2026 is a Saturday: the open house moves a week, and the
		// offer review skips Friday July 3 (observed).
		{"Independence Day", "2026-06-22", Balanced, []want{
			{date: "2026-06-22"}, {date: "2026-06-29"}, {date: "2026-06-30"}, {date: "2026-07-02"},
			{date: "2026-07-11", movedFrom: "2026-07-04", reasonHas: []string{"Independence Day (Sat Jul 4)"}},
			{date: "2026-07-14", movedFrom: "2026-07-13", reasonHas: []string{"Independence Day (observed) (Fri Jul 3)"}},
		}},
		// A tight market reviews offers after 4 working days.
		{"tight review", "2026-11-21", Tight, []want{
			{date: "2026-11-23"}, {date: "2026-12-01", movedFrom: "2026-11-30"}, {date: "2026-12-02"}, {date: "2026-12-04"}, {date: "2026-12-05"}, {date: "2026-12-10"},
		}},
		// Starting on New Year's Day: preparation waits for January 2... a
		// Saturday, so Monday January 4.
		{"start on a holiday", "2027-01-01", Balanced, []want{
			{date: "2027-01-04", movedFrom: "2027-01-01", reasonHas: []string{"New Year's Day (Fri Jan 1)"}},
			{date: "2027-01-11"}, {date: "2027-01-12"}, {date: "2027-01-14"}, {date: "2027-01-16"},
			{date: "2027-01-26", movedFrom: "2027-01-25", reasonHas: []string{"Birthday of Martin Luther King, Jr. (Mon Jan 18)"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, _ := time.Parse(time.DateOnly, tt.start)
			got := timeline(start, tt.temp)
			if len(got) != len(tt.want) {
				t.Fatalf("%d milestones, want %d", len(got), len(tt.want))
			}
			for i, m := range got {
				w := tt.want[i]
				if d := m.Date.Format(time.DateOnly); d != w.date {
					t.Errorf("%s on %s, want %s", m.Name, d, w.date)
				}
				if r := calendar.Quiet(m.Date); r != "" {
					t.Errorf("%s on %s: %s", m.Name, m.Date.Format(time.DateOnly), r)
				}
				moved := ""
				if m.MovedFrom != nil {
					moved = m.MovedFrom.Format(time.DateOnly)
				}
				if moved != w.movedFrom || (moved != "") != (m.MoveReason != "") {
					t.Errorf("%s moved from %q (%q), want %q", m.Name, moved, m.MoveReason, w.movedFrom)
				}
				for _, s := range w.reasonHas {
					if !strings.Contains(m.MoveReason, s) {
						t.Errorf("%s: reason %q lacks %q", m.Name, m.MoveReason, s)
					}
				}
			}
		})
	}
}

// TestTimelineHolidayCaveat: a milestone in the days before Christmas Eve
// carries a caveat; the offer review on December 23 did not.
func TestTimelineHolidayCaveat(t *testing.T) {
	start, _ := time.Parse(time.DateOnly, "2026-12-02") // live Dec 14, review 7 working days later: Dec 23
	got := timeline(start, Balanced)
	review := got[5]
	if review.Date.Format(time.DateOnly) != "2026-12-23" || !strings.Contains(review.Note, "holiday caveat: 1 day before Christmas Eve") {
		t.Fatalf("offer review %s: %q", review.Date.Format(time.DateOnly), review.Note)
	}
	if strings.Contains(got[3].Note, "caveat") || strings.Contains(got[1].Note, "caveat") {
		t.Fatalf("going live on %s and photos on %s need no caveat: %q, %q", got[3].Date.Format(time.DateOnly), got[1].Date.Format(time.DateOnly), got[3].Note, got[1].Note)
	}
	// Going live on Monday December 21: showings meet the holidays.
	start, _ = time.Parse(time.DateOnly, "2026-12-09")
	if live := timeline(start, Balanced)[3]; live.Date.Format(time.DateOnly) != "2026-12-21" || !strings.Contains(live.Note, "3 days before Christmas Eve") {
		t.Fatalf("going live on %s: %q", live.Date.Format(time.DateOnly), live.Note)
	}
}
