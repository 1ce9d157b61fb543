package strategy

import (
	"fmt"
	"strings"
	"time"

	"github.com/estateflow/estateflow/modules/calendar"
)

// The launch timeline works on open days: weekdays that are neither a
// federal holiday (on its date or observed) nor in the holiday season
// (December 24 to January 1), when sellers, photographers, buyers and
// lenders are away. A milestone that the holidays push back says from
// which date, and which days it skipped. The open house is on a Saturday
// that is not a holiday either.

// holidayCaveatDays is how close to Christmas Eve a milestone gets a
// caveat: buyers answering an offer review on December 22 reply into the
// holiday season.
const holidayCaveatDays = 3

// OpenHouseHours is when the first open house runs, local time.
const OpenHouseHours = "1–4 pm"

// timeline lays out the launch in open days from start.
func timeline(start time.Time, temp string) []Milestone {
	start = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
	var out []Milestone
	// add records a milestone; skipFrom is the first day whose holidays
	// could have pushed it from nominal to actual.
	add := func(name string, nominal, actual, skipFrom time.Time, note string) time.Time {
		m := Milestone{Name: name, Date: actual, Note: note}
		if !actual.Equal(nominal) {
			m.MovedFrom = &nominal
			m.MoveReason = fmt.Sprintf("moved from %s: %s", nominal.Format("Mon 2006-01-02"), skipped(skipFrom, actual, name == "FIRST_OPEN_HOUSE"))
		}
		if caveat := seasonCaveat(name, actual); caveat != "" {
			m.Note += "; " + caveat
		}
		out = append(out, m)
		return actual
	}
	after := func(name string, from time.Time, n int, note string) time.Time {
		return add(name, addWeekdays(from, n), addOpenDays(from, n), from.AddDate(0, 0, 1), note)
	}
	day0 := add("PREP_AND_STAGING", nextWeekday(start), nextOpenDay(start), start, "repairs, cleaning and staging: 5 working days")
	photos := after("PHOTOGRAPHY", day0, 5, "photos and floor plan once staging is done")
	comingSoon := after("COMING_SOON", photos, 1, "announce the listing to agents and the waiting list")
	live := after("LIVE", comingSoon, 2, "on the MLS and the portals")
	firstSat := calendar.NextSaturday(live)
	add("FIRST_OPEN_HOUSE", firstSat, openSaturday(firstSat), firstSat, "the first Saturday after going live that is not a holiday, "+OpenHouseHours)
	reviewAfter := 7
	if temp == Tight {
		reviewAfter = 4
	}
	after("OFFER_REVIEW", live, reviewAfter, fmt.Sprintf("%d working days after going live (%s)", reviewAfter, marketWords(temp)))
	return out
}

func isOpenDay(d time.Time) bool {
	return d.Weekday() != time.Saturday && d.Weekday() != time.Sunday && calendar.Quiet(d) == ""
}

func nextWeekday(d time.Time) time.Time {
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

func nextOpenDay(d time.Time) time.Time {
	for !isOpenDay(d) {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// addWeekdays counts n weekdays after d, holidays included: the date a
// milestone would have without them.
func addWeekdays(d time.Time, n int) time.Time {
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
			n--
		}
	}
	return d
}

func addOpenDays(d time.Time, n int) time.Time {
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if isOpenDay(d) {
			n--
		}
	}
	return d
}

// openSaturday is d, a Saturday, or the first later one that is not quiet.
func openSaturday(d time.Time) time.Time {
	for calendar.Quiet(d) != "" {
		d = d.AddDate(0, 0, 7)
	}
	return d
}

// skipped names the quiet days in [from, to): weekdays, or Saturdays for
// the open house. Each reason appears once, with its first date.
func skipped(from, to time.Time, saturdays bool) string {
	var parts []string
	seen := map[string]bool{}
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		weekend := d.Weekday() == time.Saturday || d.Weekday() == time.Sunday
		if (saturdays && d.Weekday() != time.Saturday) || (!saturdays && weekend) {
			continue
		}
		if r := calendar.Quiet(d); r != "" && !seen[r] {
			seen[r] = true
			parts = append(parts, fmt.Sprintf("%s (%s)", r, d.Format("Mon Jan 2")))
		}
	}
	return "skips " + strings.Join(parts, ", ")
}

// seasonCaveat warns about going live or reviewing offers just before the
// holiday season: showings and answers run into it.
func seasonCaveat(milestone string, d time.Time) string {
	eve := time.Date(d.Year(), time.December, 24, 0, 0, 0, 0, time.UTC)
	left := int(eve.Sub(d).Hours() / 24)
	if left <= 0 || left > holidayCaveatDays {
		return ""
	}
	caveat := fmt.Sprintf("holiday caveat: %s before Christmas Eve, when buyers, lenders and inspectors become hard to reach", plural(left, "day", "days"))
	switch milestone {
	case "OFFER_REVIEW":
		return caveat + "; ask for responses before December 24"
	case "LIVE":
		return caveat + "; expect fewer showings until January"
	}
	return ""
}
