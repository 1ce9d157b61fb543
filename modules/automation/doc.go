// Package automation starts packages by themselves: an organization's
// automation rules (ent AutomationRule) say "when this happens to a record,
// start that package on it".
//
// The writers of the records call the event functions (ClientCreated,
// ClientStageChanged, PropertyStatusChanged, TransactionStageChanged) in
// the transaction of the change, which they open with engine.Transact: the
// GraphQL mutations, and the CSV importer, which reports a batch's
// property statuses at once (PropertyStatusesChanged). A property created
// with a status has changed status from none. An
// event that matches an enabled rule writes one outbox message per rule
// (engine.Enqueue) in that transaction, so the change and the trigger
// commit together or not at all. The engine delivers each message to
// Handler, which starts the run with an idempotency key derived from the
// message: a crash between the commit and the start, or a second delivery,
// starts nothing twice.
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
// Files by concern:
//
//   - rule.go: validating a rule (Check): the event's stages, the package,
//     its subject, its pinned version and its default params.
//   - events.go: the events, matching them to rules, and writing the
//     outbox messages.
//   - handler.go: turning a message into a run (the engine's OutboxHandler
//     for TriggerTopic).
//   - schedule_cron.go: parsing cron expressions and their fire times,
//     across daylight-saving changes.
//   - schedule_filter.go: the typed record filter.
//   - schedule.go: claiming and firing occurrences (the engine's source).
//   - schedule_service.go: creating, changing, pausing and resuming
//     schedules, with their validation.
package automation
