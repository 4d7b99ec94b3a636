//go:build race

package stats

// raceEnabled: the coverage test draws over a billion samples, which the
// race detector would make take minutes; make test runs it without -race.
const raceEnabled = true
