// Package calendar knows which days offices are open: weekdays that are not
// US federal holidays (all 11, with the observed-day rule), and which days
// are too quiet for a launch milestone or a public post (the holidays and
// the days from Christmas Eve to New Year's Day). The modules schedule
// milestones, tasks, emails and posts with it, so they share one
// definition.
package calendar
