package calendar

import (
	"slices"
	"testing"
	"time"
)

// TestFederalHolidays checks every observed federal holiday of 2025–2027
// against OPM's published calendars (opm.gov, "Federal Holidays").
func TestFederalHolidays(t *testing.T) {
	observed := map[int][]string{
		2025: {"2025-01-01", "2025-01-20", "2025-02-17", "2025-05-26", "2025-06-19", "2025-07-04",
			"2025-09-01", "2025-10-13", "2025-11-11", "2025-11-27", "2025-12-25"},
		// July 4 is a Saturday: observed Friday July 3.
		2026: {"2026-01-01", "2026-01-19", "2026-02-16", "2026-05-25", "2026-06-19", "2026-07-03",
			"2026-09-07", "2026-10-12", "2026-11-11", "2026-11-26", "2026-12-25"},
		// Juneteenth and Christmas on Saturdays (observed Fridays), July 4 on
		// a Sunday (observed Monday), and New Year's Day 2028 on a Saturday,
		// observed Friday December 31, 2027.
		2027: {"2027-01-01", "2027-01-18", "2027-02-15", "2027-05-31", "2027-06-18", "2027-07-05",
			"2027-09-06", "2027-10-11", "2027-11-11", "2027-11-25", "2027-12-24", "2027-12-31"},
	}
	for year, want := range observed {
		var got []string
		for _, h := range FederalHolidays(year) {
			if d := h.Date; d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
				got = append(got, d.Format(time.DateOnly))
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%d: observed holidays %v, want %v", year, got, want)
		}
	}
}

func TestFederalHolidayOnADate(t *testing.T) {
	tests := []struct {
		date, name string
		observed   bool
	}{
		{"2026-07-04", "Independence Day", false}, // the day itself, a Saturday
		{"2026-07-03", "Independence Day", true},
		{"2027-07-05", "Independence Day", true},
		{"2027-12-31", "New Year's Day", true},
		{"2026-11-26", "Thanksgiving Day", false},
		{"2026-02-16", "Washington's Birthday", false},
		{"2026-10-12", "Columbus Day", false},
		{"2026-12-23", "", false},
		{"2026-11-25", "", false},
	}
	for _, tt := range tests {
		d, _ := time.Parse(time.DateOnly, tt.date)
		h, ok := FederalHoliday(d.Add(15 * time.Hour)) // the time of day does not matter
		if ok != (tt.name != "") || h.Name != tt.name || h.Observed != tt.observed {
			t.Errorf("%s: %+v %v, want %q observed=%v", tt.date, h, ok, tt.name, tt.observed)
		}
	}
}

func TestQuietAndNoPostDays(t *testing.T) {
	tests := []struct {
		date        string
		quiet, post string
	}{
		{"2026-12-23", "", ""},
		{"2026-12-24", "Christmas Eve", "Christmas Eve"},
		{"2026-12-25", "Christmas Day", "Christmas Day"},
		{"2026-12-28", "the holiday season", ""},
		{"2026-12-31", "New Year's Eve", "New Year's Eve"},
		{"2027-01-01", "New Year's Day", "New Year's Day"},
		{"2027-01-02", "", ""},
		{"2026-07-03", "Independence Day (observed)", "Independence Day (observed)"},
		{"2027-05-31", "Memorial Day", "Memorial Day"},
	}
	for _, tt := range tests {
		d, _ := time.Parse(time.DateOnly, tt.date)
		if got := Quiet(d); got != tt.quiet {
			t.Errorf("Quiet(%s) = %q, want %q", tt.date, got, tt.quiet)
		}
		if got := NoPostDay(d); got != tt.post {
			t.Errorf("NoPostDay(%s) = %q, want %q", tt.date, got, tt.post)
		}
	}
}

func TestBusinessDaysSkipEveryHoliday(t *testing.T) {
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2026-02-13", 1, "2026-02-17"}, // Friday → past Washington's Birthday
		{"2026-10-09", 1, "2026-10-13"}, // Friday → past Columbus Day
		{"2026-07-02", 1, "2026-07-06"}, // Thursday → past July 3 (observed) and the weekend
		{"2027-12-23", 1, "2027-12-27"}, // Thursday → past Christmas observed on Friday 24
	}
	for _, tt := range tests {
		from, _ := time.Parse(time.DateOnly, tt.from)
		if got := AddBusinessDays(from, tt.n).Format(time.DateOnly); got != tt.want {
			t.Errorf("AddBusinessDays(%s, %d) = %s, want %s", tt.from, tt.n, got, tt.want)
		}
	}
}
