package cluster

// The plan on the wire. An engine.Plan is Go data whose field names and
// enum numbering are the engine's to change; protocol 1 must not change
// with them. So the plan travels as wirePlan: every key spelled by a tag
// (the Go field names of the plan as protocol 1 first sent it), durations
// as integer nanoseconds, and every enum through a table that fixes its
// protocol number. encodePlan and (*wirePlan).plan are the only
// conversions; testdata/plan_*.json pins the bytes (TestPlanWireGolden).
// A change there is a change of protocol: bump Protocol.
//
// An agent decodes a plan strictly where the engine would guess: an enum
// number protocol 1 does not define is refused (RefusePlan) rather than
// read as the zero value. Keys it does not know are ignored, as
// encoding/json does; the handshake's Protocol check is what keeps both
// ends on one set of keys.

import (
	"fmt"
	"time"

	"github.com/loadgate/loadgate/engine"
)

type wirePlan struct {
	Name         string         `json:"Name"`
	Load         wireLoad       `json:"Load"`
	Flows        []wirePlanFlow `json:"Flows"`
	Interval     int64          `json:"Interval"` // ns
	Segment      wireSegment    `json:"Segment"`
	StatusTrends bool           `json:"StatusTrends"`
	Grace        int64          `json:"Grace"` // ns
	Data         []wireFeeder   `json:"Data"`
	NoCookies    bool           `json:"NoCookies"`
	HTTPVersion  uint8          `json:"HTTPVersion"` // httpVersions
}

type wireLoad struct {
	Model       uint8       `json:"Model"` // models
	StartRate   float64     `json:"StartRate"`
	Stages      []wireStage `json:"Stages"`
	Arrivals    uint8       `json:"Arrivals"` // arrivalKinds
	Seed        uint64      `json:"Seed"`
	MaxInFlight int         `json:"MaxInFlight"`
	Overload    uint8       `json:"Overload"` // overloads
	Slack       int64       `json:"Slack"`    // ns
	MaxRate     float64     `json:"MaxRate"`
	Think       int64       `json:"Think"` // ns
}

type wireStage struct {
	Duration int64   `json:"Duration"` // ns
	Target   float64 `json:"Target"`
}

type wirePlanFlow struct {
	Name   string         `json:"Name"`
	Weight int            `json:"Weight"`
	Steps  []wirePlanStep `json:"Steps"`
	// Groups and a step's Logic are omitted when empty, so that a plan
	// without flow logic travels as it did before them.
	Groups []wireGroup `json:"Groups,omitempty"`
}

// wireLogic is engine.Logic: conditions as the text the user wrote, which
// the agent's engine compiles as the coordinator's did.
type wireLogic struct {
	If     string `json:"If,omitempty"`
	Repeat int    `json:"Repeat,omitempty"`
	Over   string `json:"Over,omitempty"`
	Until  string `json:"Until,omitempty"`
	StopIf string `json:"StopIf,omitempty"`
}

type wireGroup struct {
	Name  string    `json:"Name"`
	From  int       `json:"From"`
	To    int       `json:"To"`
	Logic wireLogic `json:"Logic"`
}

type wirePlanStep struct {
	Name         string        `json:"Name"`
	Method       string        `json:"Method"`
	URL          string        `json:"URL"`
	Headers      []wireHeader  `json:"Headers"`
	Body         []byte        `json:"Body"`       // base64
	BodyEscape   uint8         `json:"BodyEscape"` // escapes
	BodyVerbatim bool          `json:"BodyVerbatim"`
	Timeout      int64         `json:"Timeout"` // ns
	Accept       []int         `json:"Accept"`
	Think        int64         `json:"Think"`    // ns
	ThinkMax     int64         `json:"ThinkMax"` // ns
	Captures     []wireCapture `json:"Captures"`
	Checks       []wireCheck   `json:"Checks"`
	MaxBody      int           `json:"MaxBody"`
	MaxRedirects int           `json:"MaxRedirects"`
	Logic        *wireLogic    `json:"Logic,omitempty"`
}

type wireHeader struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type wireCapture struct {
	Name string `json:"Name"`
	From uint8  `json:"From"` // captureSources
	Expr string `json:"Expr"`
}

type wireCheck struct {
	Kind        uint8  `json:"Kind"` // checkKinds
	Path        string `json:"Path"`
	Value       string `json:"Value"`
	Statuses    []int  `json:"Statuses"`
	MaxDuration int64  `json:"MaxDuration"` // ns
}

type wireSegment struct {
	Index int `json:"Index"`
	Count int `json:"Count"`
}

type wireFeeder struct {
	Name    string     `json:"Name"`
	Order   uint8      `json:"Order"` // orders
	Columns []string   `json:"Columns"`
	Rows    [][]string `json:"Rows"`
}

// wireEnum fixes the protocol numbers of an engine enum: the number of a
// value is its index in vals.
type wireEnum[T ~uint8] struct {
	what string
	vals []T
}

func (e wireEnum[T]) encode(v T) (uint8, error) {
	for i, x := range e.vals {
		if x == v {
			return uint8(i), nil
		}
	}
	return 0, fmt.Errorf("%s %d has no number in protocol %d", e.what, uint8(v), Protocol)
}

func (e wireEnum[T]) decode(n uint8) (T, error) {
	if int(n) >= len(e.vals) {
		var zero T
		return zero, fmt.Errorf("%s %d is not one of protocol %d", e.what, n, Protocol)
	}
	return e.vals[n], nil
}

// The enums of protocol 1. Append only: a number, once sent, keeps its
// meaning.
var (
	models         = wireEnum[engine.Model]{"load model", []engine.Model{0: engine.Open, 1: engine.Closed}}
	arrivalKinds   = wireEnum[engine.Arrivals]{"arrivals", []engine.Arrivals{0: engine.Uniform, 1: engine.Poisson}}
	overloads      = wireEnum[engine.Overload]{"overload", []engine.Overload{0: engine.Wait, 1: engine.Drop}}
	httpVersions   = wireEnum[engine.HTTPVersion]{"http version", []engine.HTTPVersion{0: engine.HTTP1, 1: engine.HTTP2, 2: engine.H2C}}
	orders         = wireEnum[engine.Order]{"data order", []engine.Order{0: engine.Sequential, 1: engine.Random, 2: engine.Unique}}
	captureSources = wireEnum[engine.CaptureFrom]{"capture source", []engine.CaptureFrom{0: engine.CaptureJSON, 1: engine.CaptureRegex, 2: engine.CaptureHeader}}
	escapes        = wireEnum[engine.Escape]{"body escape", []engine.Escape{
		0: engine.EscapeNone, 1: engine.EscapeURL, 2: engine.EscapeHeader, 3: engine.EscapeJSON, 4: engine.EscapeForm}}
	checkKinds = wireEnum[engine.CheckKind]{"check kind", []engine.CheckKind{
		0: engine.CheckStatus, 1: engine.CheckBodyContains, 2: engine.CheckJSONEquals,
		3: engine.CheckJSONExists, 4: engine.CheckHeaderEquals, 5: engine.CheckMaxDuration}}
)

// convert maps in through f, keeping nil as nil (null on the wire) and
// an empty slice as empty ([]), so that both ends see the same plan.
func convert[A, B any](in []A, f func(*A) B) []B {
	if in == nil {
		return nil
	}
	out := make([]B, len(in))
	for i := range in {
		out[i] = f(&in[i])
	}
	return out
}

// enums collects the first error of a run of enum conversions, with the
// flow and step it was in.
type enums struct {
	err        error
	inStep     bool
	flow, step string
}

func (e *enums) note(err error) {
	switch {
	case err == nil || e.err != nil:
	case e.inStep:
		e.err = fmt.Errorf("flow %q step %q: %w", e.flow, e.step, err)
	default:
		e.err = err
	}
}

func enc[T ~uint8](e *enums, t wireEnum[T], v T) uint8 {
	n, err := t.encode(v)
	e.note(err)
	return n
}

func dec[T ~uint8](e *enums, t wireEnum[T], n uint8) T {
	v, err := t.decode(n)
	e.note(err)
	return v
}

// encodePlan is p as protocol 1 sends it. It fails only for an enum value
// the protocol has no number for (a plan not built from the engine's
// constants).
func encodePlan(p *engine.Plan) (*wirePlan, error) {
	for _, f := range p.Flows {
		for _, s := range f.Steps {
			if s.Protocol != engine.ProtoHTTP {
				// The protocol has no field for it: an agent would run an
				// HTTP request in its place.
				return nil, fmt.Errorf("flow %q step %q: protocol %d carries HTTP steps only, not %s", f.Name, s.Name, Protocol, s.Protocol)
			}
		}
	}
	var e enums
	l := &p.Load
	stages := convert(l.Stages, func(s *engine.Stage) wireStage {
		return wireStage{Duration: int64(s.Duration), Target: s.Target}
	})
	flows := convert(p.Flows, func(f *engine.Flow) wirePlanFlow {
		steps := convert(f.Steps, func(s *engine.Step) wirePlanStep {
			e.inStep, e.flow, e.step = true, f.Name, s.Name
			headers := convert(s.Headers, func(h *engine.Header) wireHeader {
				return wireHeader{Key: h.Key, Value: h.Value}
			})
			captures := convert(s.Captures, func(c *engine.Capture) wireCapture {
				return wireCapture{Name: c.Name, From: enc(&e, captureSources, c.From), Expr: c.Expr}
			})
			checks := convert(s.Checks, func(c *engine.Check) wireCheck {
				return wireCheck{Kind: enc(&e, checkKinds, c.Kind), Path: c.Path, Value: c.Value,
					Statuses: c.Statuses, MaxDuration: int64(c.MaxDuration)}
			})
			return wirePlanStep{
				Name: s.Name, Method: s.Method, URL: s.URL, Headers: headers, Body: s.Body,
				BodyEscape: enc(&e, escapes, s.BodyEscape), BodyVerbatim: s.BodyVerbatim,
				Timeout: int64(s.Timeout), Accept: s.Accept, Think: int64(s.Think), ThinkMax: int64(s.ThinkMax),
				Captures: captures, Checks: checks, MaxBody: s.MaxBody, MaxRedirects: s.MaxRedirects,
				Logic: encodeLogic(s.Logic),
			}
		})
		groups := convert(f.Groups, func(g *engine.Group) wireGroup {
			return wireGroup{Name: g.Name, From: g.From, To: g.To, Logic: *encodeLogic(&g.Logic)}
		})
		return wirePlanFlow{Name: f.Name, Weight: f.Weight, Steps: steps, Groups: groups}
	})
	e.inStep = false
	data := convert(p.Data, func(f *engine.Feeder) wireFeeder {
		return wireFeeder{Name: f.Name, Order: enc(&e, orders, f.Order), Columns: f.Columns, Rows: f.Rows}
	})
	w := &wirePlan{
		Name: p.Name,
		Load: wireLoad{
			Model: enc(&e, models, l.Model), StartRate: l.StartRate, Stages: stages,
			Arrivals: enc(&e, arrivalKinds, l.Arrivals), Seed: l.Seed, MaxInFlight: l.MaxInFlight,
			Overload: enc(&e, overloads, l.Overload), Slack: int64(l.Slack), MaxRate: l.MaxRate, Think: int64(l.Think),
		},
		Flows:        flows,
		Interval:     int64(p.Interval),
		Segment:      wireSegment{Index: p.Segment.Index, Count: p.Segment.Count},
		StatusTrends: p.StatusTrends,
		Grace:        int64(p.Grace),
		Data:         data,
		NoCookies:    p.NoCookies,
		HTTPVersion:  enc(&e, httpVersions, p.HTTPVersion),
	}
	if e.err != nil {
		return nil, e.err
	}
	return w, nil
}

// plan is the engine.Plan of w. It fails on an enum number protocol 1
// does not define; the rest is the engine's to validate (Plan.Validate).
func (w *wirePlan) plan() (*engine.Plan, error) {
	var e enums
	l := &w.Load
	stages := convert(l.Stages, func(s *wireStage) engine.Stage {
		return engine.Stage{Duration: time.Duration(s.Duration), Target: s.Target}
	})
	flows := convert(w.Flows, func(f *wirePlanFlow) engine.Flow {
		steps := convert(f.Steps, func(s *wirePlanStep) engine.Step {
			e.inStep, e.flow, e.step = true, f.Name, s.Name
			headers := convert(s.Headers, func(h *wireHeader) engine.Header {
				return engine.Header{Key: h.Key, Value: h.Value}
			})
			captures := convert(s.Captures, func(c *wireCapture) engine.Capture {
				return engine.Capture{Name: c.Name, From: dec(&e, captureSources, c.From), Expr: c.Expr}
			})
			checks := convert(s.Checks, func(c *wireCheck) engine.Check {
				return engine.Check{Kind: dec(&e, checkKinds, c.Kind), Path: c.Path, Value: c.Value,
					Statuses: c.Statuses, MaxDuration: time.Duration(c.MaxDuration)}
			})
			return engine.Step{
				Name: s.Name, Method: s.Method, URL: s.URL, Headers: headers, Body: s.Body,
				BodyEscape: dec(&e, escapes, s.BodyEscape), BodyVerbatim: s.BodyVerbatim,
				Timeout: time.Duration(s.Timeout), Accept: s.Accept,
				Think: time.Duration(s.Think), ThinkMax: time.Duration(s.ThinkMax),
				Captures: captures, Checks: checks, MaxBody: s.MaxBody, MaxRedirects: s.MaxRedirects,
				Logic: s.Logic.logic(),
			}
		})
		groups := convert(f.Groups, func(g *wireGroup) engine.Group {
			return engine.Group{Name: g.Name, From: g.From, To: g.To, Logic: *g.Logic.logic()}
		})
		return engine.Flow{Name: f.Name, Weight: f.Weight, Steps: steps, Groups: groups}
	})
	e.inStep = false
	data := convert(w.Data, func(f *wireFeeder) engine.Feeder {
		return engine.Feeder{Name: f.Name, Order: dec(&e, orders, f.Order), Columns: f.Columns, Rows: f.Rows}
	})
	p := &engine.Plan{
		Name: w.Name,
		Load: engine.Load{
			Model: dec(&e, models, l.Model), StartRate: l.StartRate, Stages: stages,
			Arrivals: dec(&e, arrivalKinds, l.Arrivals), Seed: l.Seed, MaxInFlight: l.MaxInFlight,
			Overload: dec(&e, overloads, l.Overload), Slack: time.Duration(l.Slack),
			MaxRate: l.MaxRate, Think: time.Duration(l.Think),
		},
		Flows:        flows,
		Interval:     time.Duration(w.Interval),
		Segment:      engine.Segment{Index: w.Segment.Index, Count: w.Segment.Count},
		StatusTrends: w.StatusTrends,
		Grace:        time.Duration(w.Grace),
		Data:         data,
		NoCookies:    w.NoCookies,
		HTTPVersion:  dec(&e, httpVersions, w.HTTPVersion),
	}
	if e.err != nil {
		return nil, e.err
	}
	return p, nil
}

// encodeLogic is l on the wire; nil stays nil.
func encodeLogic(l *engine.Logic) *wireLogic {
	if l == nil {
		return nil
	}
	return &wireLogic{If: l.If, Repeat: l.Repeat, Over: l.Over, Until: l.Until, StopIf: l.StopIf}
}

// logic is the engine.Logic of w; nil stays nil.
func (w *wireLogic) logic() *engine.Logic {
	if w == nil {
		return nil
	}
	return &engine.Logic{If: w.If, Repeat: w.Repeat, Over: w.Over, Until: w.Until, StopIf: w.StopIf}
}
