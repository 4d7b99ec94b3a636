//go:build !linux

package engine

import (
	"errors"
	"runtime"
	"time"
)

// newKernelAlarm fails here: this platform has no kernel timer for us, and
// the clock uses a Go timer.
func newKernelAlarm(func() time.Duration) (alarm, error) {
	return nil, errors.New("no kernel timer on " + runtime.GOOS)
}
