// Package database opens EstateFlow's database, embedded SQLite by default or
// PostgreSQL when the URL says so, and migrates its schema.
//
// An open DB has two pools: the main one, which the engine, the API and the
// subscriptions share, and a small one of its own for token lookups
// (LookupPool), so that authenticating a request never waits behind other
// work and a slow lookup can be told apart from a busy server.
package database
