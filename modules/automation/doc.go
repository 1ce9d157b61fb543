// Package automation starts packages without a person calling startRun.
//
// Schedules (the files schedule*.go): a Schedule starts its package on a
// cron expression, read in the organization's time zone, once per record
// its filter chooses. Schedules is the engine's periodic source
// (engine.Periodic): each tick claims the occurrences due by advancing a
// schedule's next fire time with a compare-and-set, so that of several
// replicas only one claims an occurrence, and the fire starts one run per
// record with an idempotency key made of the schedule, the occurrence's
// time and the record, so that a repeated fire starts nothing twice.
//
//   - schedule_cron.go: parsing cron expressions and their fire times,
//     across daylight-saving changes.
//   - schedule_filter.go: the typed record filter.
//   - schedule.go: claiming and firing occurrences (the engine's source).
//   - schedule_service.go: creating, changing, pausing and resuming
//     schedules, with their validation.
package automation
