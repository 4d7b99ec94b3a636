//go:build race

package main

// raceEnabled: the race pass of make test builds the binary under test with
// -race too, so that the CLI's own goroutines (signals, partial reports,
// the live SLI loop) are race-checked; tests that time the process are
// named ...NoRace and run again in the plain pass.
const raceEnabled = true
