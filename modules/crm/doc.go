// Package crm does the client-facing CRM work: LEAD_SCORING scores a lead
// from 0 to 100 with a factor breakdown, tiers it HOT, WARM or COLD and
// stores the score on the client with its history; FOLLOW_UP_SCHEDULING
// plans the client's follow-ups by tier as CRM tasks; and transactions carry
// a deal through its stages with a checklist per stage.
//
// Every task written here (follow-ups, checklist items) writes its
// TASK_CREATED webhook deliveries (webhooks.TasksCreated) in the
// transaction that inserts it; a task found already there (a re-executed
// step, a stage entered again) is not reported twice.
package crm
