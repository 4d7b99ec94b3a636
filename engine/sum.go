package engine

import (
	"fmt"
	"time"

	"github.com/loadgate/loadgate/histogram"
)

// Sum adds up Periods measured elsewhere — by the agents of a distributed
// run — so that a coordinator can publish their union as its own snapshots.
// The Periods must be shaped like the plan the Sum was made for (CheckShape).
type Sum struct {
	per     *Period
	scratch *histogram.Histogram
	empty   bool
}

// NewSum returns an empty Sum for periods of p.
func NewSum(p *Plan) *Sum {
	return &Sum{per: newPeriod(p), scratch: histogram.New(), empty: true}
}

// Add adds every measurement of o.
func (s *Sum) Add(o *Period) {
	s.per.add(o)
	s.empty = false
}

// Empty reports whether nothing was added since the Sum was made or reset.
func (s *Sum) Empty() bool { return s.empty }

// Period returns a frozen copy spanning [start, end), with FlowTotals and
// All, for publication in a Snapshot.
func (s *Sum) Period(start, end time.Duration) *Period {
	p := s.per.frozen()
	p.Start, p.End = start, end
	p.sumSteps(s.scratch)
	return p
}

// Reset empties the Sum, keeping its memory.
func (s *Sum) Reset() {
	s.per.reset()
	s.empty = true
}

// CheckShape reports whether per is shaped like p's flows and steps, so
// that it can be added to a Sum of p; a Period from the network must pass
// it first.
func (p *Plan) CheckShape(per *Period) error {
	if len(per.Steps) != len(p.Flows) || len(per.Flows) != len(p.Flows) {
		return errShape("flows", len(per.Steps), len(p.Flows))
	}
	for fi, f := range p.Flows {
		if len(per.Steps[fi]) != len(f.Steps) {
			return errShape("steps of flow "+f.Name, len(per.Steps[fi]), len(f.Steps))
		}
		for si := range f.Steps {
			if n, want := len(per.Steps[fi][si].Checks), len(f.Steps[si].Checks); n > want {
				return errShape("checks of step "+f.Steps[si].Name, n, want)
			}
		}
	}
	return nil
}

func errShape(what string, got, want int) error {
	return &ShapeError{What: what, Got: got, Want: want}
}

// ShapeError says a Period does not fit its plan.
type ShapeError struct {
	What      string
	Got, Want int
}

func (e *ShapeError) Error() string {
	return fmt.Sprintf("engine: period has %d %s, the plan %d", e.Got, e.What, e.Want)
}
