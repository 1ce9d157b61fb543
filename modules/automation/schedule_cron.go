package automation

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Cron is a parsed cron expression. github.com/robfig/cron parses it; the
// fire times are worked out here, on the wall clock of the organization's
// time zone, because daylight-saving changes need a rule of their own:
//
//   - A time that does not exist (02:30 on the spring-forward day in
//     America/New_York) fires once, at the end of the gap (03:00 EDT), as
//     Vixie cron runs the jobs of the skipped hour right after the change.
//     A schedule that fires every hour has no 02:xx that day, as the
//     clock shows.
//   - A time that happens twice (01:30 on the fall-back day) fires once, at
//     its first instance, unless the schedule fires every hour, which then
//     fires in both 01:xx hours, as elapsed time goes.
type Cron struct {
	spec *cron.SpecSchedule
	// everyHour is set when the hour field matches every hour.
	everyHour bool
}

// cronParser reads the standard five fields and the @ descriptors.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// starBit is robfig/cron's mark of a field written as "*" (or "?").
const starBit = 1 << 63

// allHours has the 24 hour bits set.
const allHours = 1<<24 - 1

// ParseCron parses a standard cron expression (minute hour day-of-month
// month day-of-week) or an @yearly, @monthly, @weekly, @daily or @hourly
// descriptor. A time zone prefix is refused: schedules are read in the
// organization's time zone. @every is refused: it is not a calendar time.
func ParseCron(expr string) (Cron, error) {
	e := strings.TrimSpace(expr)
	if strings.HasPrefix(e, "TZ=") || strings.HasPrefix(e, "CRON_TZ=") {
		return Cron{}, fmt.Errorf("cron %q: leave the time zone out; schedules run in the organization's time zone", expr)
	}
	if strings.HasPrefix(e, "@every") {
		return Cron{}, fmt.Errorf("cron %q: @every is not supported; give calendar times such as 0 9 * * 1", expr)
	}
	s, err := cronParser.Parse(e)
	if err != nil {
		return Cron{}, fmt.Errorf("cron %q: %w", expr, err)
	}
	spec, ok := s.(*cron.SpecSchedule)
	if !ok {
		return Cron{}, fmt.Errorf("cron %q is not a calendar schedule", expr)
	}
	return Cron{spec: spec, everyHour: spec.Hour&allHours == allHours}, nil
}

// maxSearchDays bounds the search for the next fire time: a date that
// matches nothing within it (February 30) has no fire time.
const maxSearchDays = 5*366 + 1

// Next returns the first fire time strictly after t, in loc, or the zero
// time when there is none within five years.
func (c Cron) Next(t time.Time, loc *time.Location) time.Time {
	local := t.In(loc)
	for i := 0; i < maxSearchDays; i++ {
		// Noon is on the right date whatever the day's changes.
		day := time.Date(local.Year(), local.Month(), local.Day()+i, 12, 0, 0, 0, loc)
		if !c.dayMatches(day) {
			continue
		}
		var best time.Time
		for h := 0; h < 24; h++ {
			if c.spec.Hour&(1<<uint(h)) == 0 {
				continue
			}
			for m := 0; m < 60; m++ {
				if c.spec.Minute&(1<<uint(m)) == 0 {
					continue
				}
				for _, at := range c.instants(day, h, m, loc) {
					if at.After(t) && (best.IsZero() || at.Before(best)) {
						best = at
					}
				}
			}
		}
		if !best.IsZero() {
			return best
		}
	}
	return time.Time{}
}

// NextN returns up to n fire times after t.
func (c Cron) NextN(t time.Time, loc *time.Location, n int) []time.Time {
	out := make([]time.Time, 0, n)
	for len(out) < n {
		t = c.Next(t, loc)
		if t.IsZero() {
			break
		}
		out = append(out, t)
	}
	return out
}

// dayMatches applies the month, day-of-month and day-of-week fields, with
// cron's rule: when both day fields are restricted, either may match.
func (c Cron) dayMatches(day time.Time) bool {
	s := c.spec
	if s.Month&(1<<uint(day.Month())) == 0 {
		return false
	}
	dom := s.Dom&(1<<uint(day.Day())) != 0
	dow := s.Dow&(1<<uint(day.Weekday())) != 0
	if s.Dom&starBit != 0 || s.Dow&starBit != 0 {
		return dom && dow
	}
	return dom || dow
}

// instants returns the instants at which the wall-clock time h:m of day
// fires (see Cron): none, one or, for an every-hour schedule in a repeated
// hour, two.
func (c Cron) instants(day time.Time, h, m int, loc *time.Location) []time.Time {
	t := time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, loc)
	if t.Hour() != h || t.Minute() != m {
		// The time falls in a gap: it fires at the gap's end, unless the
		// schedule goes by the hour.
		if c.everyHour {
			return nil
		}
		start, end := t.ZoneBounds()
		wall := time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, time.UTC)
		if asUTCWall(t).Before(wall) {
			return []time.Time{end}
		}
		return []time.Time{start}
	}
	other, ok := twin(t, loc)
	if !ok {
		return []time.Time{t}
	}
	first, second := t, other
	if other.Before(t) {
		first, second = other, t
	}
	if c.everyHour {
		return []time.Time{first, second}
	}
	return []time.Time{first}
}

// asUTCWall is t's wall-clock reading as a UTC time, to compare readings.
func asUTCWall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// twin returns the other instant with t's wall-clock reading, when the
// clock was set back and showed it twice.
func twin(t time.Time, loc *time.Location) (time.Time, bool) {
	_, off := t.Zone()
	start, end := t.ZoneBounds()
	if !start.IsZero() {
		_, prev := start.Add(-time.Nanosecond).Zone()
		u := t.Add(time.Duration(off-prev) * time.Second)
		if u.Before(start) && asUTCWall(u.In(loc)).Equal(asUTCWall(t)) {
			return u, true
		}
	}
	if !end.IsZero() {
		_, next := end.Zone()
		u := t.Add(time.Duration(off-next) * time.Second)
		if !u.Before(end) && asUTCWall(u.In(loc)).Equal(asUTCWall(t)) {
			return u, true
		}
	}
	return time.Time{}, false
}
