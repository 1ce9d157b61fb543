// Package seed creates what a new EstateFlow database starts with: the demo
// organization, the built-in packages, and (optionally) believable demo
// properties and clients generated deterministically, so that every fresh
// install shows the same data.
package seed
