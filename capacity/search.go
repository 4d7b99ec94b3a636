// Package capacity finds the highest constant rate at which a service
// still holds its SLO (docs/capacity.md). A Search decides which rate to
// try next from the verdicts of the steps run so far; it runs nothing
// itself, so that a caller (the CLI, with a local engine or agents) owns
// the runs, and the strategy can be tested step by step.
//
// The strategy: constant-rate steps, doubling from From until a step fails
// (or Max passes), then bisecting between the last passing and the first
// failing rate until they are within Precision of each other. A step that
// cannot decide (too few samples for its confidence) is run again for
// longer, once; a step the generator could not hold is run again once, and
// if it still cannot hold it, the search ends with "at least R, limited by
// the generator"; a requirement (MinRate) ends it
// as soon as it is proven or disproven.
//
// A Search is not safe for concurrent use: one goroutine drives it.
package capacity

import (
	"errors"
	"fmt"
	"math"
)

// Config is a search.
type Config struct {
	From      float64 // first rate, arrivals/s (> 0)
	Max       float64 // never tried above this
	Precision float64 // stop when first failing / last passing - 1 <= Precision (0.05)
	// MinRate, when above 0, is the requirement: the search may stop as
	// soon as a step at or above it passes (met) or one at or below it
	// fails (not met).
	MinRate float64
	// Retries is how many times an undecided step is run again, each time
	// for twice as long, before the search stops undecided (0: the
	// default, 1; negative: never).
	Retries int
}

// Verdict is the outcome of one step.
type Verdict uint8

const (
	Pass         Verdict = iota // every threshold held
	Fail                        // a threshold broke: the SLO does not hold at this rate
	Undecided                   // too few samples to decide at the confidence asked
	GeneratorLow                // the generator could not hold the rate (its own lag or achieved ratio)
)

func (v Verdict) String() string {
	return [...]string{"pass", "fail", "undecided", "generator-limited"}[v]
}

// Step is one step the search asked for and its verdict.
type Step struct {
	Rate    float64
	Verdict Verdict
	// Longer is how many times longer than the configured step this one
	// measured (1, then 2, 4 for retries of an undecided rate).
	Longer int
}

// Next is what the caller runs next.
type Next struct {
	Rate   float64
	Longer int // measure this many times the configured step
}

// Search is the state of one capacity search.
type Search struct {
	cfg   Config
	steps []Step
	pass  float64 // highest passing rate so far (0: none)
	fail  float64 // lowest failing rate so far (0: none)
	next  Next
	done  bool
	why   string // why the search ended, for the answer
	// limited is the rate the generator could not hold, 0 when it held.
	limited float64
	retries int
}

// ErrConfig is returned by New for a search that cannot run.
var ErrConfig = errors.New("capacity: bad search")

// New starts a search.
func New(cfg Config) (*Search, error) {
	if cfg.Precision == 0 {
		cfg.Precision = 0.05
	}
	if cfg.Retries == 0 {
		cfg.Retries = 1
	}
	switch {
	case !(cfg.From > 0) || math.IsInf(cfg.From, 0):
		return nil, fmt.Errorf("%w: from must be above 0", ErrConfig)
	case !(cfg.Max >= cfg.From) || math.IsInf(cfg.Max, 0):
		return nil, fmt.Errorf("%w: max (%g) must be at least from (%g)", ErrConfig, cfg.Max, cfg.From)
	case !(cfg.Precision > 0 && cfg.Precision < 1):
		return nil, fmt.Errorf("%w: precision must be between 0%% and 100%%", ErrConfig)
	case cfg.MinRate < 0 || cfg.MinRate > cfg.Max:
		return nil, fmt.Errorf("%w: the required min_rate (%g) must be within 0..max (%g)", ErrConfig, cfg.MinRate, cfg.Max)
	}
	return &Search{cfg: cfg, next: Next{Rate: cfg.From, Longer: 1}}, nil
}

// Next returns the step to run, and false once the search is over.
func (s *Search) Next() (Next, bool) { return s.next, !s.done }

// Steps returns the steps run so far, in order.
func (s *Search) Steps() []Step { return s.steps }

// Record gives the verdict of the step Next returned.
func (s *Search) Record(v Verdict) {
	if s.done {
		return
	}
	rate := s.next.Rate
	s.steps = append(s.steps, Step{Rate: rate, Verdict: v, Longer: s.next.Longer})
	switch v {
	case Pass:
		s.retries = 0
		s.pass = max(s.pass, rate)
	case Fail:
		s.retries = 0
		if s.fail == 0 || rate < s.fail {
			s.fail = rate
		}
	case Undecided:
		if s.retries < s.cfg.Retries {
			s.retries++
			s.next.Longer *= 2
			return
		}
		s.stop(fmt.Sprintf("undecided at %s even when measured %d times longer", fmtRate(rate), s.next.Longer))
		return
	case GeneratorLow:
		// A generator that fell behind once may have met a passing
		// hiccup of its host (another job, a GC, a noisy neighbour): the
		// step is run again as it was before it is taken for a limit.
		if s.retries < s.cfg.Retries {
			s.retries++
			return
		}
		s.limited = rate
		s.stop(fmt.Sprintf("the generator could not hold %s", fmtRate(rate)))
		return
	}
	if r := s.cfg.MinRate; r > 0 {
		switch {
		case v == Pass && rate >= r:
			s.stop(fmt.Sprintf("the requirement is met: the SLO holds at %s (≥ %s)", fmtRate(rate), fmtRate(r)))
			return
		case v == Fail && rate <= r:
			s.stop(fmt.Sprintf("the requirement is not met: the SLO breaks at %s (≤ %s)", fmtRate(rate), fmtRate(r)))
			return
		}
	}
	s.plan()
}

// plan chooses the next rate after a decided step.
func (s *Search) plan() {
	switch {
	case s.fail == 0 && s.pass >= s.cfg.Max:
		s.stop(fmt.Sprintf("the SLO holds at max, %s", fmtRate(s.cfg.Max)))
	case s.fail == 0:
		s.next = Next{Rate: min(2*s.pass, s.cfg.Max), Longer: 1}
	case s.pass == 0 && s.fail <= s.cfg.From/1024:
		s.stop(fmt.Sprintf("the SLO breaks even at %s", fmtRate(s.fail)))
	case s.pass == 0:
		s.next = Next{Rate: round3(s.fail / 2), Longer: 1} // halving down to a passing rate
	case s.fail/s.pass-1 <= s.cfg.Precision:
		s.stop(fmt.Sprintf("within %s: between %s and %s", fmtShare(s.cfg.Precision), fmtRate(s.pass), fmtRate(s.fail)))
	default:
		// The geometric midpoint halves the ratio fail/pass each step,
		// which is what precision measures; rates are tried at three
		// significant digits, as a person would write them.
		mid := round3(math.Sqrt(s.pass * s.fail))
		if mid <= s.pass || mid >= s.fail {
			s.stop(fmt.Sprintf("between %s and %s, as close as rates of three digits go", fmtRate(s.pass), fmtRate(s.fail)))
			return
		}
		s.next = Next{Rate: mid, Longer: 1}
	}
}

// round3 rounds r to three significant digits: 835.4 is 835, 32.42 is 32.4.
func round3(r float64) float64 {
	if r <= 0 {
		return r
	}
	scale := math.Pow(10, 2-math.Floor(math.Log10(r)))
	return math.Round(r*scale) / scale
}

// Stop ends the search early (a duration budget spent, an interrupt); why
// says what stopped it.
func (s *Search) Stop(why string) { s.stop(why) }

func (s *Search) stop(why string) {
	if !s.done {
		s.done, s.why = true, why
	}
}

// Answer is where the search stands.
type Answer struct {
	// Capacity is the highest rate at which the SLO held (0: none held).
	Capacity float64
	// FirstFailing is the lowest rate at which it broke (0: none broke).
	FirstFailing float64
	// Precision is FirstFailing/Capacity - 1 when both are known.
	Precision float64
	// AtLeast is set when the capacity is a lower bound only: max held,
	// the generator could not go further, or the search stopped early.
	AtLeast bool
	// LimitedAt is the rate the generator could not hold (0 when it did).
	LimitedAt float64
	// Met says whether the requirement holds; nil without one or when the
	// search could not tell.
	Met *bool
	// Done is set once the search is over, Why says what ended it.
	Done bool
	Why  string
}

// Answer returns the search's answer so far.
func (s *Search) Answer() Answer {
	a := Answer{Capacity: s.pass, FirstFailing: s.fail, LimitedAt: s.limited, Done: s.done, Why: s.why}
	if a.Capacity > 0 && a.FirstFailing > 0 {
		a.Precision = a.FirstFailing/a.Capacity - 1
	}
	a.AtLeast = a.FirstFailing == 0 || a.LimitedAt > 0
	if r := s.cfg.MinRate; r > 0 {
		switch {
		case a.Capacity >= r:
			a.Met = ptr(true)
		case a.FirstFailing > 0 && a.FirstFailing <= r:
			a.Met = ptr(false)
		}
	}
	return a
}

func ptr(b bool) *bool { return &b }

func fmtRate(r float64) string { return fmt.Sprintf("%s/s", trim(r)) }

func fmtShare(p float64) string { return trim(p*100) + "%" }

// trim writes v with at most one decimal, never in e-notation.
func trim(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
