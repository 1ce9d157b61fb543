package marketing

import (
	"fmt"
	"strings"
	"time"

	"github.com/estateflow/estateflow/modules/calendar"
)

// SocialSchedule is the SOCIAL_SCHEDULING step's output.
type SocialSchedule struct {
	PropertyID int           `json:"propertyId"`
	ListingURL string        `json:"listingUrl"`
	Posts      []PlannedPost `json:"posts"`
	// Skipped counts the slots left out because the listing already had
	// a post near them; HolidaysSkipped names the days with no post.
	Skipped         int              `json:"skipped"`
	HolidaysSkipped []string         `json:"holidaysSkipped"`
	MinGapHours     int              `json:"minGapHours"`
	FairHousing     FairHousingCheck `json:"fairHousing"`
	Reason          string           `json:"reason"`
}

// IsStepOutput marks a SocialSchedule as a step's typed output.
func (*SocialSchedule) IsStepOutput() {}

// PlannedPost is one post to publish. Its Text ends with the call to
// action and the listing's link.
type PlannedPost struct {
	Platform          string    `json:"platform"`
	ScheduledAt       time.Time `json:"scheduledAt"`
	Text              string    `json:"text"`
	CallToAction      string    `json:"callToAction"`
	Link              string    `json:"link"`
	MentionsOpenHouse bool      `json:"mentionsOpenHouse"`
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

// callsToAction close every post; each is followed by the listing's link.
var callsToAction = []string{
	"See the photos and book a showing:",
	"Schedule a private tour:",
	"Floor plan and full details:",
	"Ask us about this home:",
}

// MinPostGap is the least time between two posts of one listing on one
// platform.
const MinPostGap = 48 * time.Hour

// PlanPosts spreads posts over the campaign window from the launch day, at
// each platform's reading hour in the org's time zone, at least
// MinPostGap apart per platform. Slots within MinPostGap of a post already
// scheduled for the listing on that platform are skipped, and so are
// federal holidays, Christmas Eve and New Year's Eve. Every post carries a
// call to action and the listing's link (c.ListingURL, which the caller
// makes sure is set); posts up to the open house announce it; no two posts
// on one platform have the same text.
func PlanPosts(c MarketingCampaign, existing map[string][]time.Time, loc *time.Location) SocialSchedule {
	out := SocialSchedule{PropertyID: c.PropertyID, ListingURL: c.ListingURL, MinGapHours: int(MinPostGap.Hours()),
		Posts: []PlannedPost{}, HolidaysSkipped: []string{},
		FairHousing: FairHousingCheck{TermsChecked: len(fairHousingTerms), Removed: []string{}}}
	// The launch is a calendar date (stored as midnight UTC): the same
	// date, local time.
	d := c.LaunchDate.UTC()
	start := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
	end := start.AddDate(0, 0, c.WindowDays)
	messages := c.PostMessages
	if len(messages) == 0 {
		messages = c.Headlines
	}
	if len(messages) == 0 && c.Description != "" {
		messages = []string{c.Description}
	}
	unwritten := 0
	for day := start; day.Before(end); day = day.AddDate(0, 0, 1) {
		if r := calendar.NoPostDay(day); r != "" {
			out.HolidaysSkipped = append(out.HolidaysSkipped, fmt.Sprintf("%s (%s)", day.Format(time.DateOnly), r))
		}
	}
	for p, slot := range platformSlots {
		var last time.Time
		used := map[string]bool{}
		n := 0
		for day := start; day.Before(end); day = day.AddDate(0, 0, 1) {
			if slot.weekdaysOnly && !calendar.IsBusinessDay(day) {
				continue
			}
			if calendar.NoPostDay(day) != "" {
				continue
			}
			at := time.Date(day.Year(), day.Month(), day.Day(), slot.hour, slot.minute, 0, 0, loc)
			if !last.IsZero() && at.Sub(last) < MinPostGap {
				continue
			}
			last = at
			if near(existing[slot.platform], at) {
				out.Skipped++
				continue
			}
			post, ok := writePost(c, messages, day, p+n, used)
			n++
			if !ok {
				unwritten++
				continue
			}
			kept, removed := dropFlagged([]string{post.Text}, out.FairHousing.Removed)
			out.FairHousing.Removed = removed
			if len(kept) == 0 {
				continue
			}
			used[post.Text] = true
			post.Platform, post.ScheduledAt = slot.platform, at.UTC()
			out.Posts = append(out.Posts, post)
		}
	}
	out.FairHousing.Passed = len(out.FairHousing.Removed) == 0
	out.Reason = fmt.Sprintf("%d posts over the %d-day campaign from %s, at least %dh apart per platform, each with a call to action and the listing's link; %d slots already taken",
		len(out.Posts), c.WindowDays, start.Format(time.DateOnly), out.MinGapHours, out.Skipped)
	if len(out.HolidaysSkipped) > 0 {
		out.Reason += "; no posts on " + strings.Join(out.HolidaysSkipped, ", ")
	}
	if unwritten > 0 {
		out.Reason += fmt.Sprintf("; %d slots left empty: the campaign has too few distinct messages for them", unwritten)
	}
	if !out.FairHousing.Passed {
		out.Reason += "; posts using a fair-housing term were left out"
	}
	return out
}

// writePost composes the k-th post of a platform for day: a message, the
// open-house announcement up to the open house, a call to action and the
// link. It tries the other message and call combinations until the text
// is new on the platform; ok is false when all of them are used.
func writePost(c MarketingCampaign, messages []string, day time.Time, k int, used map[string]bool) (PlannedPost, bool) {
	if len(messages) == 0 {
		return PlannedPost{}, false
	}
	openHouse := ""
	if oh := c.OpenHouse; oh != nil {
		ohDay := time.Date(oh.Date.Year(), oh.Date.Month(), oh.Date.Day(), 0, 0, 0, 0, day.Location())
		switch {
		case day.Equal(ohDay):
			openHouse = fmt.Sprintf("Open house today, %s.", oh.Hours)
		case day.Before(ohDay):
			openHouse = fmt.Sprintf("Open house %s, %s.", oh.Date.Format("Saturday, Jan 2"), oh.Hours)
		}
	}
	combos := len(messages) * len(callsToAction)
	for i := range combos {
		m := messages[(k+i)%len(messages)]
		cta := callsToAction[(k+i/len(messages))%len(callsToAction)]
		parts := []string{m}
		if openHouse != "" {
			parts = append(parts, openHouse)
		}
		parts = append(parts, cta+" "+c.ListingURL)
		text := strings.Join(parts, " ")
		if !used[text] {
			return PlannedPost{Text: text, CallToAction: cta, Link: c.ListingURL, MentionsOpenHouse: openHouse != ""}, true
		}
	}
	return PlannedPost{}, false
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
