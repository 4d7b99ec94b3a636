package cluster

import (
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/histogram"
)

// maxErrorText caps each error message an agent sends: only a short,
// classified sample travels, never a response body.
const maxErrorText = 200

// wirePeriod is an engine.Period on the wire: histograms as HdrHistogram V2
// base64 text ("" when empty), and only what cannot be derived (the
// coordinator recomputes FlowTotals and All).
type wirePeriod struct {
	Start         time.Duration `json:"start_ns"`
	End           time.Duration `json:"end_ns"`
	Steps         [][]wireStep  `json:"steps"`
	Flows         []wireFlow    `json:"flows"`
	Lag           string        `json:"lag,omitempty"`
	SlotWait      string        `json:"slot_wait,omitempty"`
	Planned       int64         `json:"planned"`
	Started       int64         `json:"started"`
	Dropped       int64         `json:"dropped,omitempty"`
	Cancelled     int64         `json:"cancelled,omitempty"`
	BytesSent     int64         `json:"bytes_sent"`
	BytesReceived int64         `json:"bytes_received"`
}

type wireStep struct {
	Duration      string   `json:"duration,omitempty"`
	ServiceTime   string   `json:"service_time,omitempty"`
	ByClass       []string `json:"by_class,omitempty"`
	Requests      int64    `json:"requests"`
	Failed        int64    `json:"failed"`
	Status        []int64  `json:"status,omitempty"`
	FailedByClass []int64  `json:"failed_by_class,omitempty"`
	// Errors counts requests by outcome, indexed by engine.Kind: the
	// kinds' numbering is part of the protocol (wireKinds).
	Errors       []int64          `json:"errors,omitempty"`
	ChecksPassed int64            `json:"checks_passed,omitempty"`
	ChecksTotal  int64            `json:"checks_total,omitempty"`
	Checks       []wireCheckCount `json:"checks,omitempty"`
	// WS is a WebSocket step's engine.WSStats; absent for other steps
	// (and for every step of protocol 1's plans, which are HTTP only:
	// the field is ready for when plans carry WebSocket steps).
	WS *wireWS `json:"ws,omitempty"`
}

// wireWS is an engine.WSStats on the wire.
type wireWS struct {
	Connect      string `json:"connect,omitempty"`
	Msg          string `json:"msg,omitempty"`
	MsgService   string `json:"msg_service,omitempty"`
	MsgsReceived int64  `json:"msgs_received,omitempty"`
	MsgsSent     int64  `json:"msgs_sent,omitempty"`
	Expected     int64  `json:"expected,omitempty"`
	Missed       int64  `json:"missed,omitempty"`
}

// wireCheckCount is an engine.CheckCount on the wire, its keys those the
// untagged type had in protocol 1.
type wireCheckCount struct {
	Passed int64 `json:"Passed"`
	Total  int64 `json:"Total"`
}

type wireFlow struct {
	Iterations int64  `json:"iterations"`
	Duration   string `json:"duration,omitempty"`
}

// encodePeriod turns an agent's interval into its wire form.
func encodePeriod(p *engine.Period) (*wirePeriod, error) {
	w := &wirePeriod{
		Start: p.Start, End: p.End, Planned: p.Planned, Started: p.Started, Dropped: p.Dropped,
		Cancelled: p.Cancelled, BytesSent: p.BytesSent, BytesReceived: p.BytesReceived,
		Steps: make([][]wireStep, len(p.Steps)), Flows: make([]wireFlow, len(p.Flows)),
	}
	var err error
	enc := func(h *histogram.Histogram) string {
		if h == nil || h.Count() == 0 || err != nil {
			return ""
		}
		var s string
		s, err = h.Encode()
		return s
	}
	for fi := range p.Steps {
		w.Steps[fi] = make([]wireStep, len(p.Steps[fi]))
		for si := range p.Steps[fi] {
			s := &p.Steps[fi][si]
			ws := wireStep{
				Duration: enc(s.Duration), ServiceTime: enc(s.ServiceTime),
				Requests: s.Requests, Failed: s.Failed,
				Status: s.Status[:], FailedByClass: s.FailedByClass[:], Errors: s.Errors[:],
				ChecksPassed: s.ChecksPassed, ChecksTotal: s.ChecksTotal,
				Checks: convert(s.Checks, func(c *engine.CheckCount) wireCheckCount {
					return wireCheckCount{Passed: c.Passed, Total: c.Total}
				}),
			}
			if x := &s.WS; x.Connect != nil || x.Msg != nil || x.MsgService != nil ||
				x.MsgsReceived != 0 || x.MsgsSent != 0 || x.Expected != 0 || x.Missed != 0 {
				ws.WS = &wireWS{Connect: enc(x.Connect), Msg: enc(x.Msg), MsgService: enc(x.MsgService),
					MsgsReceived: x.MsgsReceived, MsgsSent: x.MsgsSent, Expected: x.Expected, Missed: x.Missed}
			}
			if hasByClass(s) && !byClassIsDuration(s) {
				ws.ByClass = make([]string, len(s.ByClass))
				for c, h := range s.ByClass {
					ws.ByClass[c] = enc(h)
				}
			}
			w.Steps[fi][si] = ws
		}
	}
	for fi, f := range p.Flows {
		w.Flows[fi] = wireFlow{Iterations: f.Iterations, Duration: enc(f.Duration)}
	}
	w.Lag = enc(p.Lag)
	w.SlotWait = enc(p.SlotWait)
	return w, err
}

func hasByClass(s *engine.StepStats) bool {
	for _, h := range s.ByClass {
		if h != nil {
			return true
		}
	}
	return false
}

// byClassIsDuration reports whether the step's only status class holds
// every request, so that its histogram is the duration histogram.
func byClassIsDuration(s *engine.StepStats) bool {
	c, ok := singleClass(s.Status)
	return ok && s.Duration != nil && s.ByClass[c] != nil && s.ByClass[c].Count() == s.Duration.Count()
}

// decodePeriod checks a wire period against the plan and turns it back into
// an engine.Period. Everything is checked, since an agent may be rogue or
// broken: the shape, every histogram's geometry, counters that cannot be
// negative, and arrays of the engine's sizes.
func decodePeriod(w *wirePeriod, p *engine.Plan) (*engine.Period, error) {
	if w == nil {
		return nil, violation("interval without a period")
	}
	per := &engine.Period{
		Start: w.Start, End: w.End, Planned: w.Planned, Started: w.Started, Dropped: w.Dropped,
		Cancelled: w.Cancelled, BytesSent: w.BytesSent, BytesReceived: w.BytesReceived,
		Steps: make([][]engine.StepStats, len(w.Steps)), Flows: make([]engine.FlowStats, len(w.Flows)),
	}
	if err := nonNegative(w.Planned, w.Started, w.Dropped, w.Cancelled, w.BytesSent, w.BytesReceived); err != nil {
		return nil, err
	}
	if limit := maxOffset(p); w.Start < 0 || w.End < w.Start || w.End > limit {
		return nil, violation("an interval from %v to %v, outside the run (0 to %v)", w.Start, w.End, limit)
	}
	var err error
	dec := func(what, s string) *histogram.Histogram {
		if s == "" || err != nil {
			return nil
		}
		var h *histogram.Histogram
		if h, err = histogram.DecodeFrozen(s); err != nil {
			err = violation("%s histogram: %v", what, err)
			return nil
		}
		return h
	}
	for fi := range w.Steps {
		per.Steps[fi] = make([]engine.StepStats, len(w.Steps[fi]))
		for si := range w.Steps[fi] {
			ws := &w.Steps[fi][si]
			s := engine.StepStats{
				Duration: dec("duration", ws.Duration), ServiceTime: dec("service time", ws.ServiceTime),
				Requests: ws.Requests, Failed: ws.Failed, ChecksPassed: ws.ChecksPassed, ChecksTotal: ws.ChecksTotal,
				Checks: convert(ws.Checks, func(c *wireCheckCount) engine.CheckCount {
					return engine.CheckCount{Passed: c.Passed, Total: c.Total}
				}),
			}
			if x := ws.WS; x != nil {
				if err := nonNegative(x.MsgsReceived, x.MsgsSent, x.Expected, x.Missed); err != nil {
					return nil, err
				}
				if x.Missed > x.Expected || x.Expected > maxCount || x.MsgsReceived > maxCount || x.MsgsSent > maxCount {
					return nil, violation("WebSocket counts: %d of %d expectations missed, %d messages received, %d sent", x.Missed, x.Expected, x.MsgsReceived, x.MsgsSent)
				}
				s.WS = engine.WSStats{Connect: dec("ws connect", x.Connect), Msg: dec("ws message", x.Msg), MsgService: dec("ws message service time", x.MsgService),
					MsgsReceived: x.MsgsReceived, MsgsSent: x.MsgsSent, Expected: x.Expected, Missed: x.Missed}
			}
			if len(ws.ByClass) > len(s.ByClass) {
				return nil, violation("%d status classes, want at most %d", len(ws.ByClass), len(s.ByClass))
			}
			for c, h := range ws.ByClass {
				s.ByClass[c] = dec("status class", h)
			}
			for _, a := range []struct {
				dst []int64
				src []int64
			}{{s.Status[:], ws.Status}, {s.FailedByClass[:], ws.FailedByClass}, {s.Errors[:], ws.Errors}} {
				if len(a.src) > len(a.dst) {
					return nil, violation("a counter array of %d entries, want at most %d", len(a.src), len(a.dst))
				}
				if err := nonNegative(a.src...); err != nil {
					return nil, err
				}
				copy(a.dst, a.src)
			}
			if err := nonNegative(s.Requests, s.Failed, s.ChecksPassed, s.ChecksTotal); err != nil {
				return nil, err
			}
			if c, ok := singleClass(s.Status); ok && len(ws.ByClass) == 0 && p.StatusTrends && s.Duration != nil {
				s.ByClass[c] = s.Duration // left out by the agent: the same histogram
			}
			for _, c := range s.Checks {
				if c.Passed < 0 || c.Total < c.Passed || c.Total > maxCount {
					return nil, violation("check counts %d of %d", c.Passed, c.Total)
				}
			}
			if s.Failed > s.Requests || s.ChecksPassed > s.ChecksTotal {
				return nil, violation("more failures than requests or more checks passed than made")
			}
			per.Steps[fi][si] = s
		}
	}
	for fi, f := range w.Flows {
		if err := nonNegative(f.Iterations); err != nil {
			return nil, err
		}
		per.Flows[fi] = engine.FlowStats{Iterations: f.Iterations, Duration: dec("iteration", f.Duration)}
	}
	per.Lag = dec("schedule lag", w.Lag)
	per.SlotWait = dec("slot wait", w.SlotWait)
	if err != nil {
		return nil, err
	}
	if err := p.CheckShape(per); err != nil {
		return nil, violation("%v", err)
	}
	return per, nil
}

// maxCount bounds every count an agent sends: far above any real run
// (10^15), far below where sums of many agents and intervals overflow.
const maxCount = 1 << 50

// singleClass reports the status class of every request when they all
// share one. That class's duration histogram is then the step's duration
// histogram, which the wire carries once (a third fewer histograms to
// decode in the common all-2xx case).
func singleClass(status [engine.NumStatusClasses]int64) (int, bool) {
	only, n := 0, 0
	for c, k := range status {
		if k > 0 {
			only, n = c, n+1
		}
	}
	return only, n == 1
}

func nonNegative(vs ...int64) error {
	for _, v := range vs {
		if v < 0 {
			return violation("a negative count (%d)", v)
		}
		if v > maxCount {
			return violation("a count of %d, beyond any run", v)
		}
	}
	return nil
}

// maxOffset is the latest end an agent's interval may have: the plan's
// length, its grace, and the agent's safety margin.
func maxOffset(p *engine.Plan) time.Duration {
	grace := p.StopGrace()
	return p.Load.Duration() + grace + 5*time.Minute
}

// errorTexts turns a snapshot's error samples into their wire form.
func errorTexts(s *[engine.NumKinds]string) []string {
	var out []string
	for k, m := range s {
		if m == "" {
			continue
		}
		if out == nil {
			out = make([]string, engine.NumKinds)
		}
		out[k] = shorten(m, maxErrorText)
	}
	return out
}

// shorten cuts s to at most n bytes, at a rune boundary: a rune cut in two
// would reach the peer as U+FFFD, three bytes per stray byte, and push the
// message past checkErrors's limit.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// checkErrors rejects error samples beyond the engine's kinds or too long.
func checkErrors(errs []string) error {
	if len(errs) > int(engine.NumKinds) {
		return violation("%d error kinds, want at most %d", len(errs), engine.NumKinds)
	}
	for _, m := range errs {
		if len(m) > maxErrorText+len("…") {
			return violation("an error message of %d bytes", len(m))
		}
	}
	return nil
}

func describeSeq(got, want int) string {
	if got < want {
		return fmt.Sprintf("replayed sequence number %d (expected %d)", got, want)
	}
	return fmt.Sprintf("sequence number %d skips ahead (expected %d)", got, want)
}
