//go:build unix

package procstat

import (
	"runtime"
	"syscall"
	"time"
)

// rusage returns the CPU time and the peak resident memory getrusage
// reports for the process.
func rusage() (time.Duration, int64) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, 0
	}
	// ru_maxrss is in KiB, but in bytes on macOS.
	unit := int64(1 << 10)
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		unit = 1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), int64(ru.Maxrss) * unit
}
