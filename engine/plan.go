package engine

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Model says how arrivals are generated.
type Model uint8

const (
	// Open starts iterations at the rate of the load profile, whether or not
	// earlier ones have finished (arrival-rate model, as wrk2 and k6's
	// arrival-rate executors).
	Open Model = iota
	// Closed keeps a number of users that loop over iterations (concurrency
	// model, as wrk and Gatling's closed injection); its latency is service time.
	Closed
)

func (m Model) String() string {
	if m == Closed {
		return "closed"
	}
	return "open"
}

// Arrivals is the spacing of arrivals in the open model.
type Arrivals uint8

const (
	// Uniform spaces arrivals evenly along the rate curve.
	Uniform Arrivals = iota
	// Poisson draws exponential gaps along the rate curve (a non-homogeneous
	// Poisson process), seeded so that a run is reproducible.
	Poisson
)

func (a Arrivals) String() string {
	if a == Poisson {
		return "poisson"
	}
	return "uniform"
}

// Overload is what happens to an arrival that finds MaxInFlight iterations
// already running.
type Overload uint8

const (
	// Wait delays the arrival until an iteration ends; the wait counts in
	// http_req_duration because latency is measured from the intended time.
	Wait Overload = iota
	// Drop skips the arrival and counts it in dropped_iterations (k6's
	// behaviour).
	Drop
)

func (o Overload) String() string {
	if o == Drop {
		return "drop"
	}
	return "wait"
}

// Stage is one piece of the piecewise-linear load profile: the rate (open
// model, iterations per second) or the number of users (closed model) moves
// linearly from the previous target to Target over Duration.
type Stage struct {
	Duration time.Duration
	Target   float64
}

// Load is the load profile and the limits of the generator.
type Load struct {
	Model     Model
	StartRate float64 // rate (open) or users (closed) at t=0
	Stages    []Stage
	Arrivals  Arrivals
	Seed      uint64 // for Poisson arrivals
	// MaxInFlight bounds the iterations running at once (open model).
	MaxInFlight int
	Overload    Overload
	// Slack is how late the run's clock may end a wait to serve it with
	// others in one wake-up (see clock); 0 wakes for every due time.
	Slack time.Duration
	// MaxRate caps iterations per second in the closed model; 0 is no cap.
	MaxRate float64
	// Think is the pause between iterations of one user (closed model).
	Think time.Duration
}

// Duration is the total length of the profile.
func (l *Load) Duration() time.Duration {
	var d time.Duration
	for _, s := range l.Stages {
		d += s.Duration
	}
	return d
}

// PeakRate is the profile's highest rate (open model) or number of users
// (closed model).
func (l *Load) PeakRate() float64 {
	peak := l.StartRate
	for _, s := range l.Stages {
		peak = max(peak, s.Target)
	}
	return peak
}

// MaxHostRate is the highest open-model rate, in arrivals per second, that
// one host is asked to start: ten times what the fastest generators reach
// on one host. Above it a plan is invalid (docs/scenario-reference.md,
// "Impossible loads"), not merely overloaded.
const MaxHostRate = 10_000_000

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
//   - one host cannot start more than MaxHostRate arrivals a second (a
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
	if l.PeakRate() <= 0 {
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
		if rate/share > MaxHostRate {
			return &LoadProblem{Stage: i, Msg: fmt.Sprintf("rate %s/s is more than one host can start (at most %s/s, ten times what the fastest generators reach on one host)",
				fmtRate(rate), fmtRate(MaxHostRate))}
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

// Header is one request header.
type Header struct {
	Key, Value string
}

// Step is one HTTP request of a flow. The URL is absolute; the URL's path
// and query, header values and the body may hold {{ ... }} templates
// (template.go), kept here as written so that reports show the template,
// never a value. A step without templates is built once and reused.
type Step struct {
	Name    string
	Method  string // GET, POST, ...
	URL     string // absolute http:// or https:// URL; no template in scheme or host
	Headers []Header
	Body    []byte
	// BodyEscape is how template values are escaped in Body: EscapeNone for
	// raw bodies, EscapeJSON for json: bodies, EscapeForm for form: bodies.
	BodyEscape Escape
	// BodyVerbatim sends Body as it is, {{ included (body_file).
	BodyVerbatim bool
	Timeout      time.Duration // total deadline of the request (of all its redirects)
	// Accept lists the statuses that count as success. Empty means any status
	// below 400.
	Accept []int
	// Think is the pause after this step, before the next one; with
	// ThinkMax > Think it is drawn uniformly from [Think, ThinkMax].
	Think, ThinkMax time.Duration
	// Captures take values from the response for later steps' templates.
	Captures []Capture
	// Checks are judged on the response and counted in the checks metric.
	Checks []Check
	// MaxBody caps the bytes of the body kept for checks and captures
	// (DefaultMaxBody when 0); the rest is counted and discarded. Bodies of
	// steps without body checks or captures are never kept.
	MaxBody int
	// MaxRedirects is how many redirects are followed; 0 follows none (the
	// 3xx is the step's answer). Scenarios default to DefaultMaxRedirects.
	MaxRedirects int
}

// Accepts reports whether status counts as a success for this step.
func (s *Step) Accepts(status int) bool {
	if len(s.Accept) == 0 {
		return status > 0 && status < 400
	}
	for _, a := range s.Accept {
		if a == status {
			return true
		}
	}
	return false
}

// Flow is a named sequence of steps; each arrival runs one flow, picked by
// weight.
type Flow struct {
	Name   string
	Weight int
	Steps  []Step
}

// Segment selects share Index of Count of the arrivals: arrival n belongs to
// segment n mod Count. The zero value is the whole schedule.
type Segment struct {
	Index, Count int
}

// Whole reports whether s covers every arrival.
func (s Segment) Whole() bool { return s.Count <= 1 }

// String formats s as I/N.
func (s Segment) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Plan is everything the engine needs to run a load: declarative data only,
// so that it can be shipped to agents.
type Plan struct {
	Name  string
	Load  Load
	Flows []Flow
	// Interval is how often snapshots are published (default 1 s).
	Interval time.Duration
	Segment  Segment
	// StatusTrends records duration histograms per status class as well, for
	// thresholds such as http_req_duration{status:5xx}.
	StatusTrends bool
	// Grace is how long requests in flight may finish after the load
	// stops, at the end of the profile or early (interrupt, abort); then
	// they are cut off (load.graceful_stop). Zero is the default,
	// StopGrace.
	Grace time.Duration
	// Data are the feeders that templates read ({{ name.column }}).
	Data []Feeder
	// NoCookies turns off the per-iteration cookie jar.
	NoCookies bool
	// HTTPVersion is the protocol spoken to every target: HTTP/1.1 (the
	// zero value), HTTP/2 over TLS, or h2c.
	HTTPVersion HTTPVersion
}

// Defaults for zero fields of a Plan.
const (
	DefaultInterval    = time.Second
	DefaultMaxInFlight = 1000
	// DefaultSlack is the clock's coalescing window for scenarios that do
	// not set load.slack (see clock). Plans built in code default to 0.
	DefaultSlack   = 750 * time.Microsecond
	DefaultTimeout = 10 * time.Second
	// DefaultGrace is the margin a distributed run allows an agent beyond
	// its plan's grace period (dist). The grace period itself defaults to
	// the longest request timeout (StopGrace).
	DefaultGrace = 5 * time.Second
	// DefaultMaxBody is the body kept for checks and captures.
	DefaultMaxBody = 1 << 20
	// DefaultMaxRedirects is what scenarios follow unless told otherwise.
	DefaultMaxRedirects = 10
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
			if len(st.Checks) > MaxChecks {
				return fmt.Errorf("engine: flow %q step %q: %d checks, limit %d", f.Name, st.Name, len(st.Checks), MaxChecks)
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
