// Package marketing does the outreach work of the packages: email drip
// sequences and housing-compliant social targeting for Lead Nurture.
package marketing
