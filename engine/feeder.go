package engine

import (
	"fmt"
	"sync/atomic"
)

// Order is how iterations take rows from a feeder.
type Order uint8

const (
	// Sequential takes rows in file order through one shared cursor and
	// wraps around at the end.
	Sequential Order = iota
	// Random takes a row at random for each iteration.
	Random
	// Unique gives each row to one iteration only; when none is left the
	// run ends early with a DataExhaustedError.
	Unique
)

func (o Order) String() string {
	switch o {
	case Random:
		return "random"
	case Unique:
		return "unique"
	}
	return "sequential"
}

// Feeder is a table of test data read by templates as {{ name.column }}.
// Each iteration of a flow that reads a feeder takes one row of it, so the
// columns of one row stay together. Loaded once (by the scenarios package)
// and shared read-only by every worker.
type Feeder struct {
	Name    string
	Order   Order
	Columns []string
	Rows    [][]string // each as long as Columns
}

// DataExhaustedError ends a run whose unique feeder has no row left: the
// plan ran out of data before its profile ended. It is not a failure of the
// target; the verdict comes from the thresholds.
type DataExhaustedError struct {
	Feeder string
	Rows   int
}

func (e *DataExhaustedError) Error() string {
	return fmt.Sprintf("data exhausted: every one of the %d rows of unique data %q was used", e.Rows, e.Feeder)
}

func (p *Plan) validateData() error {
	seen := map[string]bool{}
	for _, f := range p.Data {
		if seen[f.Name] {
			return fmt.Errorf("engine: duplicate data name %q", f.Name)
		}
		seen[f.Name] = true
		if len(f.Rows) == 0 {
			return fmt.Errorf("engine: data %q has no rows", f.Name)
		}
		for i, r := range f.Rows {
			if len(r) != len(f.Columns) {
				return fmt.Errorf("engine: data %q row %d has %d values for %d columns", f.Name, i+1, len(r), len(f.Columns))
			}
		}
	}
	return nil
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
