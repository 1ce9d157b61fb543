// Package database opens EstateFlow's database, embedded SQLite by default or
// PostgreSQL when the URL says so, and migrates its schema.
package database
