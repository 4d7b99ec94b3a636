package engine

// The rules a plan must follow before it runs, and the defaults of its
// zero fields.

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// withDefaults returns a copy of p with zero fields defaulted. Flows and
// steps are copied too: the engine fills step defaults, and the caller's
// plan stays untouched (a plan may run twice, or concurrently).
func (p Plan) withDefaults() Plan {
	p.Flows = slices.Clone(p.Flows)
	for i := range p.Flows {
		p.Flows[i].Steps = slices.Clone(p.Flows[i].Steps)
	}
	if p.Interval <= 0 {
		p.Interval = DefaultInterval
	}
	if p.Load.MaxInFlight <= 0 {
		p.Load.MaxInFlight = DefaultMaxInFlight
	}
	p.Grace = p.StopGrace()
	return p
}

// StopGrace is how long requests in flight may finish once the load
// stops: Grace, or by default the longest request timeout of the plan's
// steps (DefaultTimeout where a step has none) plus stopGraceMargin and 1%,
// so that a request in flight at the end completes or times out by its own
// deadline (which fires up to 1% late, docs/scenario-reference.md
// "defaults"), and is measured either way (docs/scenario-reference.md,
// "The end of a run").
func (p *Plan) StopGrace() time.Duration {
	if p.Grace > 0 {
		return p.Grace
	}
	var g time.Duration
	for _, f := range p.Flows {
		for _, st := range f.Steps {
			t := st.Timeout
			if t <= 0 {
				t = DefaultTimeout
			}
			if st.WS != nil {
				t = st.WS.bound(&st) // a WebSocket session: its handshake and waits
			}
			g = max(g, t)
		}
	}
	if g <= 0 {
		g = DefaultTimeout
	}
	return g + g/100 + stopGraceMargin
}

// stopGraceMargin is what the default grace period allows beyond a
// request's timeout: the timeout firing on a busy machine.
const stopGraceMargin = time.Second

// Validate checks the invariants the engine relies on. The scenarios package
// reports user errors with positions before this; Validate guards programmatic
// callers and plans received from a coordinator.
func (p *Plan) Validate() error {
	if len(p.Flows) == 0 {
		return fmt.Errorf("engine: plan has no flows")
	}
	if len(p.Load.Stages) == 0 {
		return fmt.Errorf("engine: plan has no stages")
	}
	for i, s := range p.Load.Stages {
		if s.Duration <= 0 || s.Target < 0 {
			return fmt.Errorf("engine: stage %d: duration must be > 0 and target >= 0", i+1)
		}
	}
	if p.Load.StartRate < 0 {
		return fmt.Errorf("engine: start rate must be >= 0")
	}
	if e := p.CheckLoad(); e != nil {
		return fmt.Errorf("engine: %s", e.Msg)
	}
	total := 0
	for _, f := range p.Flows {
		if f.Weight <= 0 {
			return fmt.Errorf("engine: flow %q: weight must be > 0", f.Name)
		}
		if len(f.Steps) == 0 {
			return fmt.Errorf("engine: flow %q has no steps", f.Name)
		}
		for _, st := range f.Steps {
			if len(st.Checks) > maxChecks {
				return fmt.Errorf("engine: flow %q step %q: %d checks, limit %d", f.Name, st.Name, len(st.Checks), maxChecks)
			}
		}
		total += f.Weight
	}
	if total > 1_000_000 {
		return fmt.Errorf("engine: flow weights add up to %d, limit 1000000", total)
	}
	if p.Segment.Count > 1 && (p.Segment.Index < 0 || p.Segment.Index >= p.Segment.Count) {
		return fmt.Errorf("engine: segment %s out of range", p.Segment)
	}
	if err := p.validateData(); err != nil {
		return err
	}
	for fi := range p.Flows {
		if _, err := compileFlow(&p.Flows[fi], p.Data); err != nil {
			return err
		}
	}
	return nil
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

// maxHostRate is the highest open-model rate, in arrivals per second, that
// one host is asked to start: ten times what the fastest generators reach
// on one host. Above it a plan is invalid (docs/scenario-reference.md,
// "Impossible loads"), not merely overloaded.
const maxHostRate = 10_000_000

// LoadProblem says why a load profile cannot run at all.
type LoadProblem struct {
	// Stage is the index in Load.Stages of the stage at fault, or -1 for
	// the profile as a whole or its start rate.
	Stage int
	Msg   string
}

func (e *LoadProblem) Error() string { return e.Msg }

// CheckLoad returns why p's load profile cannot run at all, or nil. It
// tells the impossible from the merely overloaded (docs/scenario-reference.md,
// "Impossible loads"):
//   - a profile whose rate (or number of users) is 0 throughout sends
//     nothing;
//   - one host cannot start more than maxHostRate arrivals a second (a
//     segment's share of the rate is what its host starts);
//   - an iteration occupies its slot for at least its think times (those
//     it cannot skip: a step with captures may end it early), so a stage
//     whose lowest rate, held for that long, needs more iterations at once
//     than max_in_flight can never start its arrivals on time, however
//     fast the target answers.
//
// A rate above max_in_flight / timeout is not impossible: it only means
// that arrivals find no free slot when the target stops answering
// (KindNoFreeSlot).
func (p *Plan) CheckLoad() *LoadProblem {
	l := &p.Load
	if l.peakRate() <= 0 {
		if l.Model == Closed {
			return &LoadProblem{Stage: -1, Msg: "the profile has no user: users are 0 throughout, so nothing would be sent"}
		}
		return &LoadProblem{Stage: -1, Msg: "the profile plans no arrival: the rate is 0 throughout, so nothing would be sent"}
	}
	if l.Model != Open {
		return nil
	}
	share := 1.0
	if !p.Segment.Whole() {
		share = float64(p.Segment.Count)
	}
	for i := -1; i < len(l.Stages); i++ {
		rate := l.StartRate
		if i >= 0 {
			rate = l.Stages[i].Target
		}
		if rate/share > maxHostRate {
			return &LoadProblem{Stage: i, Msg: fmt.Sprintf("rate %s/s is more than one host can start (at most %s/s, ten times what the fastest generators reach on one host)",
				fmtRate(rate), fmtRate(maxHostRate))}
		}
	}
	slots := l.MaxInFlight
	if slots <= 0 {
		slots = DefaultMaxInFlight
	}
	busy := time.Duration(math.MaxInt64)
	for fi := range p.Flows {
		busy = min(busy, p.Flows[fi].minBusy())
	}
	if busy <= 0 || busy == time.Duration(math.MaxInt64) {
		return nil
	}
	from := l.StartRate
	for i, s := range l.Stages {
		low := min(from, s.Target) / share
		from = s.Target
		need := low * busy.Seconds()
		if s.Duration < busy || need < float64(slots)+1 {
			continue
		}
		return &LoadProblem{Stage: i, Msg: fmt.Sprintf("rate %s/s needs %.0f iterations at once, since each holds its slot for at least %v of think time, but max_in_flight is %d: raise max_in_flight to %.0f or lower the rate to %s/s",
			fmtRate(low*share), math.Ceil(need), busy, slots, math.Ceil(need), fmtRate(float64(slots)/busy.Seconds()*share))}
	}
	return nil
}

// minBusy is the shortest time an iteration of f holds its slot whatever
// the target answers: the think times it cannot skip. A step with
// captures ends the iteration when they find nothing, before its think.
func (f *Flow) minBusy() time.Duration {
	if f.hasLogic() {
		return 0 // a condition may skip any think time
	}
	var d time.Duration
	for i := range f.Steps {
		st := &f.Steps[i]
		if len(st.Captures) > 0 || i == len(f.Steps)-1 {
			break
		}
		d += st.Think
	}
	return d
}

// fmtRate writes a rate as a plain number with thousands separators, never
// in scientific notation.
func fmtRate(r float64) string {
	if r != math.Trunc(r) || r < 1000 {
		return strconv.FormatFloat(r, 'f', -1, 64)
	}
	s := strconv.FormatFloat(r, 'f', 0, 64)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
