// Package homevalue implements HOME_VALUATION, the first step of the
// home-value-update package: the CMA of a past client's home. The home is
// found through the client's transactions (crm.HomeOf): the property of
// their most recent CLOSED buyer-side transaction that they have not sold
// since. A client without one is refused at startRun (BAD_USER_INPUT on
// input.clientId), before any run exists. The email that follows
// (HOME_VALUE_EMAIL) is marketing's.
package homevalue
