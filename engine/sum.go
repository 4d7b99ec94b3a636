package engine

import (
	"fmt"
	"time"

	"github.com/loadgate/loadgate/histogram"
)

// Sum adds up Periods measured elsewhere — by the agents of a distributed
// run — so that a coordinator can publish their union as its own snapshots.
// The Periods must be shaped like the plan the Sum was made for (CheckShape).
// Its histograms are sparse sums (histogram.NewSparse) that it owns: adding
// fifty agents' intervals touches only their populated buckets, and no
// dense counts are allocated, cleared or scanned.
type Sum struct {
	per *Period
}

// NewSum returns an empty Sum for periods of p.
func NewSum(p *Plan) *Sum {
	return &Sum{per: newPeriod(p)}
}

// Add adds every measurement of o.
func (s *Sum) Add(o *Period) { s.per.addWith(o, addSparse) }

func addSparse(dst, src *histogram.Histogram) *histogram.Histogram {
	if src == nil || src.Count() == 0 {
		return dst
	}
	if dst == nil {
		dst = histogram.NewSparse()
	}
	dst.AddSparse(src)
	return dst
}

// Period returns a copy spanning [start, end) for publication in a
// Snapshot, with FlowTotals and All; the Sum may go on adding.
func (s *Sum) Period(start, end time.Duration) *Period {
	c := s.per.copyWith(clone)
	c.Start, c.End = start, end
	c.SumSteps()
	return c
}

func clone(h *histogram.Histogram) *histogram.Histogram {
	if h == nil {
		return nil
	}
	return h.Clone()
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
	return &shapeError{What: what, Got: got, Want: want}
}

// shapeError says a Period does not fit its plan.
type shapeError struct {
	What      string
	Got, Want int
}

func (e *shapeError) Error() string {
	return fmt.Sprintf("engine: period has %d %s, the plan %d", e.Got, e.What, e.Want)
}
