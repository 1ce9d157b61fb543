// Package marketing does the outreach work of the packages: for a client,
// email drip sequences (EMAIL_SEQUENCE) and housing-compliant social
// targeting (SOCIAL_TARGETING); for a listing, the campaign's copy and budget
// (MARKETING_CAMPAIGN) and its social posts (SOCIAL_SCHEDULING).
//
// Emails are lawful as planned: sender identity, postal address and a
// signed one-click unsubscribe link (unsubscribe_token.go, unsubscribe.go),
// consent checked, market figures from the organization's own records
// (market.go), and a new sequence supersedes the client's pending one
// (supersede.go).
//
// Unsubscribing (unsubscribe.go) turns consent off, cancels the pending
// emails and writes the EMAIL_UNSUBSCRIBED webhooks in one engine
// transaction (engine.Transact), so that the webhooks commit with the
// change or not at all.
package marketing
