//go:build linux && !race

package httpc

// See rawio_race.go.

func raceReleaseIO(uintptr) {}
func raceAcquireIO(uintptr) {}
