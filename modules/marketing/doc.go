// Package marketing does the outreach work of the packages: for a client,
// email drip sequences (EMAIL_SEQUENCE) and housing-compliant social
// targeting (SOCIAL_TARGETING); for a listing, the campaign's copy and budget
// (MARKETING_CAMPAIGN) and its social posts (SOCIAL_SCHEDULING).
package marketing
