package marketing

import (
	"fmt"
	"time"

	"github.com/estateflow/estateflow/modules/calendar"
)

// SocialSchedule is the SOCIAL_SCHEDULING step's output.
type SocialSchedule struct {
	PropertyID  int           `json:"propertyId"`
	Posts       []PlannedPost `json:"posts"`
	Skipped     int           `json:"skipped"`
	MinGapHours int           `json:"minGapHours"`
	Reason      string        `json:"reason"`
}

// IsStepOutput marks a SocialSchedule as a step's typed output.
func (*SocialSchedule) IsStepOutput() {}

// PlannedPost is one post to publish.
type PlannedPost struct {
	Platform    string    `json:"platform"`
	ScheduledAt time.Time `json:"scheduledAt"`
	Text        string    `json:"text"`
}

// platformSlot is when a platform's audience reads, local time, and
// whether it is a weekday-only (professional) network.
var platformSlots = []struct {
	platform     string
	hour, minute int
	weekdaysOnly bool
}{
	{"FACEBOOK", 13, 0, false},
	{"INSTAGRAM", 18, 30, false},
	{"LINKEDIN", 9, 0, true},
}

// MinPostGap is the least time between two posts of one listing on one
// platform.
const MinPostGap = 48 * time.Hour

// PlanPosts spreads posts over the campaign window from the launch day, at
// each platform's reading hour in the org's time zone, at least
// MinPostGap apart per platform. Slots within MinPostGap of a post already
// scheduled for the listing on that platform are skipped.
func PlanPosts(c MarketingCampaign, existing map[string][]time.Time, loc *time.Location) SocialSchedule {
	out := SocialSchedule{PropertyID: c.PropertyID, MinGapHours: int(MinPostGap.Hours()), Posts: []PlannedPost{}}
	// The launch is a calendar date (stored as midnight UTC): the same
	// date, local time.
	d := c.LaunchDate.UTC()
	start := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
	end := start.AddDate(0, 0, c.WindowDays)
	texts := c.Headlines
	if len(texts) == 0 {
		texts = []string{c.Description}
	}
	n := 0
	for _, slot := range platformSlots {
		var last time.Time
		for day := start; day.Before(end); day = day.AddDate(0, 0, 1) {
			if slot.weekdaysOnly && !calendar.IsBusinessDay(day) {
				continue
			}
			at := time.Date(day.Year(), day.Month(), day.Day(), slot.hour, slot.minute, 0, 0, loc)
			if !last.IsZero() && at.Sub(last) < MinPostGap {
				continue
			}
			if near(existing[slot.platform], at) {
				out.Skipped++
				last = at
				continue
			}
			out.Posts = append(out.Posts, PlannedPost{Platform: slot.platform, ScheduledAt: at.UTC(), Text: texts[n%len(texts)]})
			n++
			last = at
		}
	}
	out.Reason = fmt.Sprintf("%d posts over the %d-day campaign from %s, at least %dh apart per platform; %d slots already taken",
		len(out.Posts), c.WindowDays, start.Format("2006-01-02"), out.MinGapHours, out.Skipped)
	return out
}

func near(times []time.Time, at time.Time) bool {
	for _, t := range times {
		d := at.Sub(t)
		if d < 0 {
			d = -d
		}
		if d < MinPostGap {
			return true
		}
	}
	return false
}
