package scenarios

import (
	"time"

	"github.com/loadgate/loadgate/engine"
)

// Option changes how a scenario compiles: the command line's overrides of
// the load (--rate, --duration, --segment; docs/scenario-reference.md),
// applied once to the compiled plan, before it is validated, so that the
// plan a Scenario holds is the one that runs. ${VAR} values (-e) come
// through the lookup of Load and Parse.
type Option func(*options)

type options struct {
	rate     float64
	duration time.Duration
	segment  engine.Segment
}

// WithRate replaces the load profile with a constant one at rate (users,
// for a closed model); 0 keeps the profile. Without WithDuration the
// profile keeps its length.
func WithRate(rate float64) Option { return func(o *options) { o.rate = rate } }

// WithDuration replaces the load profile with a constant one this long; 0
// keeps the profile. Without WithRate the rate is the profile's highest.
func WithDuration(d time.Duration) Option { return func(o *options) { o.duration = d } }

// WithSegment runs only share seg.Index of seg.Count of the arrivals.
func WithSegment(seg engine.Segment) Option { return func(o *options) { o.segment = seg } }

// OverrideError is why the plan the options make cannot run: Load is the
// profile's problem when WithRate or WithDuration made it (the caller
// names its own flags), else Err is the plan's.
type OverrideError struct {
	Load *engine.LoadProblem
	Err  error
}

func (e *OverrideError) Error() string {
	if e.Load != nil {
		return e.Load.Msg
	}
	return e.Err.Error()
}

func (e *OverrideError) Unwrap() error {
	if e.Load != nil {
		return e.Load
	}
	return e.Err
}

// profile reports whether the options replace the load profile.
func (o *options) profile() bool { return o.rate > 0 || o.duration > 0 }

// apply replaces p's load profile with a constant one when a rate or a
// duration is given (the rate defaults to the profile's highest target,
// the duration to the profile's length) and sets the segment.
func (o *options) apply(p *engine.Plan) {
	p.Segment = o.segment
	if !o.profile() {
		return
	}
	l := &p.Load
	rate, d := o.rate, o.duration
	if rate == 0 {
		rate = l.StartRate
		for _, s := range l.Stages {
			rate = max(rate, s.Target)
		}
	}
	if d == 0 {
		d = l.Duration()
	}
	l.StartRate = rate
	l.Stages = []engine.Stage{{Duration: d, Target: rate}}
}
