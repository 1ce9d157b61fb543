package calendar

import "time"

// The 11 US federal holidays (5 U.S.C. 6103). A holiday that falls on a
// Saturday is observed on the Friday before, one on a Sunday on the Monday
// after (Executive Order 11582; OPM's rule). New Year's Day on a Saturday
// is therefore observed on Friday December 31 of the year before.

// Holiday is a federal holiday on a given date: the day itself or the
// weekday it is observed on.
type Holiday struct {
	Name string
	// Date is the date the holiday is on, or observed on.
	Date time.Time
	// Observed is set for the weekday a weekend holiday is observed on.
	Observed bool
}

// fixedHolidays fall on one calendar date; floatingHolidays on the nth
// weekday of a month (n = -1: the last one).
var fixedHolidays = []struct {
	name  string
	month time.Month
	day   int
}{
	{"New Year's Day", time.January, 1},
	{"Juneteenth National Independence Day", time.June, 19},
	{"Independence Day", time.July, 4},
	{"Veterans Day", time.November, 11},
	{"Christmas Day", time.December, 25},
}

var floatingHolidays = []struct {
	name    string
	month   time.Month
	weekday time.Weekday
	n       int
}{
	{"Birthday of Martin Luther King, Jr.", time.January, time.Monday, 3},
	{"Washington's Birthday", time.February, time.Monday, 3},
	{"Memorial Day", time.May, time.Monday, -1},
	{"Labor Day", time.September, time.Monday, 1},
	{"Columbus Day", time.October, time.Monday, 2},
	{"Thanksgiving Day", time.November, time.Thursday, 4},
}

// FederalHolidays lists the year's 11 holidays on their own dates and,
// for those on a weekend, the weekday they are observed on (which for New
// Year's Day may be in the year before: it is listed under that year).
// Dates are midnight UTC, the modules' calendar-date convention.
func FederalHolidays(year int) []Holiday {
	var out []Holiday
	add := func(name string, d time.Time) {
		out = append(out, Holiday{Name: name, Date: d})
		switch d.Weekday() {
		case time.Saturday:
			out = append(out, Holiday{Name: name, Date: d.AddDate(0, 0, -1), Observed: true})
		case time.Sunday:
			out = append(out, Holiday{Name: name, Date: d.AddDate(0, 0, 1), Observed: true})
		}
	}
	for _, h := range fixedHolidays {
		add(h.name, date(year, h.month, h.day))
	}
	for _, h := range floatingHolidays {
		add(h.name, nthWeekday(year, h.month, h.weekday, h.n))
	}
	// Next year's New Year's Day on a Saturday is observed this December 31.
	if ny := date(year+1, time.January, 1); ny.Weekday() == time.Saturday {
		out = append(out, Holiday{Name: "New Year's Day", Date: ny.AddDate(0, 0, -1), Observed: true})
	}
	// This year's New Year's Day on a Saturday was observed last year.
	kept := out[:0]
	for _, h := range out {
		if h.Date.Year() == year {
			kept = append(kept, h)
		}
	}
	return kept
}

// FederalHoliday returns the holiday on d's calendar date, whether the day
// itself or its observed weekday.
func FederalHoliday(d time.Time) (Holiday, bool) {
	day := date(d.Year(), d.Month(), d.Day())
	for _, h := range FederalHolidays(day.Year()) {
		if h.Date.Equal(day) {
			return h, true
		}
	}
	return Holiday{}, false
}

// InHolidaySeason reports whether d falls between Christmas Eve and New
// Year's Day (December 24 to January 1, inclusive): offices are thin,
// buyers travel, and a milestone (photos, offer review) there goes badly.
func InHolidaySeason(d time.Time) bool {
	_, m, day := d.Date()
	return (m == time.December && day >= 24) || (m == time.January && day == 1)
}

// Quiet says why nothing should be scheduled on d: a federal holiday (on
// its date or observed), or the holiday season (December 24 to January 1:
// Christmas Eve, New Year's Eve or "the holiday season"). It returns "" for other
// days, weekends included: weekends are a scheduling rule, not a holiday.
func Quiet(d time.Time) string {
	if h, ok := FederalHoliday(d); ok {
		if h.Observed {
			return h.Name + " (observed)"
		}
		return h.Name
	}
	if InHolidaySeason(d) {
		switch d.Month() {
		case time.December:
			switch d.Day() {
			case 24:
				return "Christmas Eve"
			case 31:
				return "New Year's Eve"
			}
		}
		return "the holiday season"
	}
	return ""
}

// NoPostDay says why no public post should go out on d: a federal holiday
// (on its date or observed), Christmas Eve or New Year's Eve. It returns
// "" for other days.
func NoPostDay(d time.Time) string {
	if h, ok := FederalHoliday(d); ok {
		if h.Observed {
			return h.Name + " (observed)"
		}
		return h.Name
	}
	switch _, m, day := d.Date(); {
	case m == time.December && day == 24:
		return "Christmas Eve"
	case m == time.December && day == 31:
		return "New Year's Eve"
	}
	return ""
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// nthWeekday is the nth given weekday of the month; n = -1 is the last.
func nthWeekday(year int, m time.Month, wd time.Weekday, n int) time.Time {
	if n < 0 {
		last := date(year, m+1, 0)
		return last.AddDate(0, 0, -((int(last.Weekday()) - int(wd) + 7) % 7))
	}
	first := date(year, m, 1)
	return first.AddDate(0, 0, (int(wd)-int(first.Weekday())+7)%7+7*(n-1))
}
