//go:build !race

package analytics

// RaceDetector is false outside a -race build; see race_test.go.
const RaceDetector = false
