// Package crm does the client-facing CRM work of the Lead Nurture package.
// So far: LEAD_SCORING, which scores a lead from 0 to 100 with a factor
// breakdown, tiers it HOT, WARM or COLD, and stores the score on the client
// with its history.
package crm
