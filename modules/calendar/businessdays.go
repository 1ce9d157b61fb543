package calendar

import "time"

// IsBusinessDay reports whether d is a weekday and not a US federal holiday
// on which offices close. The modules schedule work (milestones, tasks,
// emails) on business days.
func IsBusinessDay(d time.Time) bool {
	switch d.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	return !isHoliday(d)
}

func isHoliday(d time.Time) bool {
	_, m, day := d.Date()
	switch {
	case m == time.January && day == 1,
		m == time.June && day == 19,
		m == time.July && day == 4,
		m == time.November && day == 11,
		m == time.December && day == 25:
		return true
	case m == time.January && d.Weekday() == time.Monday && (day-1)/7 == 2: // MLK Day, 3rd Monday
		return true
	case m == time.May && d.Weekday() == time.Monday && day+7 > 31: // Memorial Day, last Monday
		return true
	case m == time.September && d.Weekday() == time.Monday && day <= 7: // Labor Day, 1st Monday
		return true
	case m == time.November && d.Weekday() == time.Thursday && (day-1)/7 == 3: // Thanksgiving, 4th Thursday
		return true
	}
	return false
}

// NextBusinessDay returns d if it is a business day, else the next one.
func NextBusinessDay(d time.Time) time.Time {
	for !IsBusinessDay(d) {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// AddBusinessDays moves n business days forward from d.
func AddBusinessDays(d time.Time, n int) time.Time {
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if IsBusinessDay(d) {
			n--
		}
	}
	return d
}

// NextSaturday returns the first Saturday after d.
func NextSaturday(d time.Time) time.Time {
	d = d.AddDate(0, 0, 1)
	for d.Weekday() != time.Saturday {
		d = d.AddDate(0, 0, 1)
	}
	return d
}
