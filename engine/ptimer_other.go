//go:build !linux

package engine

import "time"

// preciseTimer is Linux-only; elsewhere workers use Go timers alone.
type preciseTimer struct{}

func newPreciseTimer() *preciseTimer { return nil }

func (t *preciseTimer) wait(time.Duration) bool { return false }

func (t *preciseTimer) close() {}
