//go:build linux && !race

package engine

// See rawio_race.go.

func raceReleaseIO(uintptr) {}
func raceAcquireIO(uintptr) {}
