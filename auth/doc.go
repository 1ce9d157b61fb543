// Package auth authenticates API calls. Every request carries an API token
// (Authorization: Bearer ef_…); websocket subscriptions may send it in
// connection_init instead. Tokens are random (256 bits), only their SHA-256
// is stored, and a revoked token ends its open subscriptions at once.
package auth
