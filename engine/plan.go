package engine

// The plan: everything the engine needs to run a load, as declarative data
// only, so that it can be checked before anything is sent (validate.go)
// and shipped to agents (cluster's wire format). Every type of a plan is
// in this file; the scenarios package compiles YAML into one.

import (
	"fmt"
	"time"
)

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
func (l *Load) peakRate() float64 {
	peak := l.StartRate
	for _, s := range l.Stages {
		peak = max(peak, s.Target)
	}
	return peak
}

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

// Segment selects share Index of Count of the arrivals: arrival n belongs to
// segment n mod Count. The zero value is the whole schedule.
type Segment struct {
	Index, Count int
}

// Whole reports whether s covers every arrival.
func (s Segment) Whole() bool { return s.Count <= 1 }

// String formats s as I/N.
func (s Segment) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Header is one request header.
type Header struct {
	Key, Value string
}

// Protocol is what a step speaks. HTTP steps go through the engine's HTTP
// client (engine/internal/httpc); the others through their protoKind
// (proto.go).
type Protocol uint8

const (
	// ProtoHTTP is an HTTP request (the zero value).
	ProtoHTTP Protocol = iota
	// ProtoGRPC is a gRPC call (grpc.go).
	ProtoGRPC
	// ProtoWS is a WebSocket session (ws.go).
	ProtoWS
	numProtocols
)

// String names p as metric prefixes do: http, grpc, ws.
func (p Protocol) String() string {
	switch p {
	case ProtoGRPC:
		return "grpc"
	case ProtoWS:
		return "ws"
	}
	return "http"
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
	// Protocol is what the step speaks; a non-HTTP step's URL still names
	// its target (http:// or https:// for gRPC, ws:// or wss:// for
	// WebSocket), its Headers are gRPC metadata or handshake headers, and
	// the call itself is in GRPC or WS.
	Protocol Protocol
	GRPC     *GRPCCall  // the call of a gRPC step (plan_grpc.go)
	WS       *WSSession // the session of a WebSocket step (plan_ws.go)
	// Logic repeats or skips the step, or ends the iteration after it
	// (plan_logic.go); nil runs it once.
	Logic *Logic
}

// Accepts reports whether status counts as a success for this step.
func (s *Step) accepts(status int) bool {
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
	// Groups are runs of steps repeated or skipped as one (plan_logic.go).
	Groups []Group
}

// CaptureFrom is where a capture looks.
type CaptureFrom uint8

const (
	// CaptureJSON evaluates a JSONPath ($.items[0].id) on the body.
	CaptureJSON CaptureFrom = iota
	// CaptureRegex takes the first group (or the whole match) of a regular
	// expression on the body.
	CaptureRegex
	// CaptureHeader takes a response header.
	CaptureHeader
)

// Capture takes a value from a response into the variable Name.
type Capture struct {
	Name string
	From CaptureFrom
	Expr string // JSONPath, regular expression or header name, as written
}

// CheckKind is what a check judges.
type CheckKind uint8

// Check kinds.
const (
	CheckStatus       CheckKind = iota // the status is one of Statuses
	CheckBodyContains                  // the body contains Value
	CheckJSONEquals                    // the JSONPath Path holds the JSON value Value
	CheckJSONExists                    // the JSONPath Path exists
	CheckHeaderEquals                  // the header Path equals Value
	CheckMaxDuration                   // the response took at most MaxDuration (service time)
)

// checkKindNames are the check tag values of each kind.
var checkKindNames = [...]string{
	CheckStatus: "status", CheckBodyContains: "body_contains", CheckJSONEquals: "json",
	CheckJSONExists: "json", CheckHeaderEquals: "header", CheckMaxDuration: "max_duration",
}

// maxChecks bounds the checks of one step (their results travel as a bit
// set on the hot path).
const maxChecks = 64

// CheckNames names a step's checks for the check tag of the checks metric:
// the kind ("status", "body_contains", "json", "header", "max_duration"),
// and for a kind that repeats in the step, its ordinal ("json#2").
func (s *Step) CheckNames() []string {
	names := make([]string, len(s.Checks))
	seen := map[string]int{}
	for i, c := range s.Checks {
		n := "check"
		if int(c.Kind) < len(checkKindNames) {
			n = checkKindNames[c.Kind]
		}
		seen[n]++
		if k := seen[n]; k > 1 {
			n = fmt.Sprintf("%s#%d", n, k)
		}
		names[i] = n
	}
	return names
}

// Check is one assertion on a response. Each counts once per request in
// the checks metric of its step.
type Check struct {
	Kind        CheckKind
	Path        string // JSONPath or header name
	Value       string // text, JSON text (CheckJSONEquals) or header value
	Statuses    []int
	MaxDuration time.Duration
}

// Order is how iterations take rows from a feeder.
type Order uint8

const (
	// Sequential takes rows in file order through one shared cursor and
	// wraps around at the end.
	Sequential Order = iota
	// Random takes a row at random for each iteration.
	Random
	// Unique gives each row to one iteration only; when none is left the
	// run ends early (Result.Exhausted).
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

// Escape says how a rendered value is made safe for where it lands. Literal
// text is never escaped: it is what the user wrote.
type Escape uint8

const (
	// EscapeNone inserts values as they are (raw bodies).
	EscapeNone Escape = iota
	// EscapeURL percent-encodes every byte but A-Z a-z 0-9 - . _ ~, so that
	// a value stays one path segment or one query value.
	EscapeURL
	// EscapeHeader drops control characters (a value cannot end the header).
	EscapeHeader
	// EscapeJSON escapes a value for the inside of a JSON string (json:
	// bodies, whose templates are always inside strings).
	EscapeJSON
	// EscapeForm is EscapeURL with spaces as + (form: bodies).
	EscapeForm
)

// HTTPVersion is the protocol the engine speaks to targets.
type HTTPVersion uint8

const (
	// HTTP1 is HTTP/1.1 over fasthttp: the default, and the cheapest.
	HTTP1 HTTPVersion = iota
	// HTTP2 is HTTP/2 over TLS, negotiated with ALPN h2; a server that does
	// not offer h2 fails the request (class protocol) rather than being
	// measured over HTTP/1.1 unnoticed.
	HTTP2
	// H2C is HTTP/2 over cleartext with prior knowledge (RFC 9113 §3.3).
	H2C
)

// String names v as in the scenario's http.version.
func (v HTTPVersion) String() string {
	switch v {
	case HTTP2:
		return "2"
	case H2C:
		return "h2c"
	}
	return "1.1"
}
