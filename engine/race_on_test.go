//go:build race

package engine

// raceEnabled lets timing tests skip under the race detector, which makes
// each loopback request several times slower.
const raceEnabled = true
