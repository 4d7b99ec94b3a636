//go:build !linux

package engine

import "time"

// newKernelAlarm returns nil: the clock uses a Go timer here.
func newKernelAlarm(func() time.Duration) alarm { return nil }
