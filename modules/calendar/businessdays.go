package calendar

import "time"

// IsBusinessDay reports whether d is a weekday and not a US federal holiday
// on which offices close (the holiday's date or its observed weekday). The modules schedule work (milestones, tasks,
// emails) on business days.
func IsBusinessDay(d time.Time) bool {
	switch d.Weekday() {
	case time.Saturday, time.Sunday:
		return false
	}
	return !isHoliday(d)
}

func isHoliday(d time.Time) bool {
	_, ok := FederalHoliday(d)
	return ok
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
