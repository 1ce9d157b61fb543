// Package calendar knows which days offices are open: weekdays that are not
// US federal holidays. The modules schedule milestones, tasks, emails and
// posts on business days, so they share this one definition.
package calendar
