package engine

import (
	"fmt"
	"sync/atomic"
)

// dataExhaustedError ends a run whose unique feeder has no row left: the
// plan ran out of data before its profile ended. It is not a failure of the
// target; the verdict comes from the thresholds.
type dataExhaustedError struct {
	Feeder string
	Rows   int
}

func (e *dataExhaustedError) Error() string {
	return fmt.Sprintf("data exhausted: every one of the %d rows of unique data %q was used", e.Rows, e.Feeder)
}

// cursors are the shared positions of the sequential and unique feeders.
type cursors []atomic.Int64

// pick chooses a row of feeder fi for one iteration; ok is false when a
// unique feeder has no row left.
func (cs cursors) pick(f *Feeder, fi int, g *rng) (row int, ok bool) {
	n := int64(len(f.Rows))
	switch f.Order {
	case Random:
		return int(g.uint64n(uint64(n))), true
	case Unique:
		i := cs[fi].Add(1) - 1
		return int(i), i < n
	}
	return int((cs[fi].Add(1) - 1) % n), true
}
