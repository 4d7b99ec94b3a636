package report

import (
	"sync"

	"github.com/loadgate/loadgate/engine"
)

// MaxPoints bounds the rows a Timeline keeps. An hour of 1 s intervals fits
// at full resolution; longer soaks are downsampled so memory stays constant.
const MaxPoints = 3600

// Point is one row of the time series: a span of the run, one interval or,
// after downsampling, several adjacent ones. Latencies are in ms.
type Point struct {
	T  float64 `json:"t"`  // seconds from the start to the end of the span
	DT float64 `json:"dt"` // length of the span, seconds
	// Reqs and Errors count requests completed and failed (http_reqs,
	// http_req_failed hits); RPS is Reqs per second of the span.
	Reqs   int64   `json:"reqs"`
	RPS    float64 `json:"rps"`
	Errors int64   `json:"errors"`
	// P50, P95, P99 are http_req_duration quantiles; ServiceP99 is the
	// http_req_service_time p99, the uncorrected view.
	P50        float64 `json:"p50"`
	P95        float64 `json:"p95"`
	P99        float64 `json:"p99"`
	ServiceP99 float64 `json:"service_p99"`
	// Planned and Dropped are arrivals due and skipped; InFlight is the
	// iterations running at the end of the span.
	Planned  int64   `json:"planned"`
	Dropped  int64   `json:"dropped"`
	InFlight int64   `json:"in_flight"`
	LagP99   float64 `json:"lag_p99"`
}

// merge returns the row covering a then b (adjacent, a first). Counts add
// up exactly. Quantiles cannot be merged without the histograms, which a
// Timeline does not keep; the max of the parts is an upper bound of the
// quantile of the union and keeps a short stall visible in a long soak, so it
// is used for quantiles and for in-flight.
func merge(a, b Point) Point {
	m := Point{
		T:          b.T,
		DT:         round(a.DT+b.DT, 6),
		Reqs:       a.Reqs + b.Reqs,
		Errors:     a.Errors + b.Errors,
		P50:        max(a.P50, b.P50),
		P95:        max(a.P95, b.P95),
		P99:        max(a.P99, b.P99),
		ServiceP99: max(a.ServiceP99, b.ServiceP99),
		Planned:    a.Planned + b.Planned,
		Dropped:    a.Dropped + b.Dropped,
		InFlight:   max(a.InFlight, b.InFlight),
		LagP99:     max(a.LagP99, b.LagP99),
	}
	if m.DT > 0 {
		m.RPS = round(float64(m.Reqs)/m.DT, 3)
	}
	return m
}

// Timeline is an engine.Observer that keeps the time series of a run: one
// Point per interval, never a histogram. When it holds max rows it merges
// them pairwise and from then on merges that many intervals per row (the
// stride), so it never holds more than max rows however long the run.
//
// Observe is called by the engine's collector; Points may be called from any
// goroutine, during or after the run.
type Timeline struct {
	durations, service, reqs, failed *engine.Selection

	// mu guards the fields below.
	mu      sync.Mutex
	max     int     // even, so that pairwise merging leaves full rows
	rows    []Point // each covers stride intervals
	stride  int     // intervals per row
	pending Point   // the row being filled
	pendN   int     // intervals in pending
}

// NewTimeline returns a Timeline for runs of plan p.
func NewTimeline(p *engine.Plan) *Timeline {
	return newTimeline(p, MaxPoints)
}

func newTimeline(p *engine.Plan, maxRows int) *Timeline {
	if maxRows < 2 {
		maxRows = 2
	}
	return &Timeline{
		durations: mustSelect(p, "http_req_duration"),
		service:   mustSelect(p, "http_req_service_time"),
		reqs:      mustSelect(p, "http_reqs"),
		failed:    mustSelect(p, "http_req_failed"),
		max:       maxRows &^ 1,
		stride:    1,
	}
}

// mustSelect selects a whole request metric over the steps of every
// protocol (the progress line and the timeline show requests, whatever the
// plan speaks), which cannot fail for an http_ request metric.
func mustSelect(p *engine.Plan, metric string) *engine.Selection {
	s, err := engine.SelectAnyProtocol(p, metric)
	if err != nil {
		panic("report: " + err.Error())
	}
	return s
}

// Observe adds the interval of s as a row.
func (t *Timeline) Observe(s *engine.Snapshot) {
	if s == nil || s.Interval == nil {
		return
	}
	p := t.point(s)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pendN == 0 {
		t.pending = p
	} else {
		t.pending = merge(t.pending, p)
	}
	t.pendN++
	if t.pendN < t.stride {
		return
	}
	t.rows = append(t.rows, t.pending)
	t.pendN = 0
	if len(t.rows) >= t.max {
		t.compact()
	}
}

// compact halves the rows by merging neighbours, in place.
func (t *Timeline) compact() {
	n := len(t.rows) / 2
	for i := 0; i < n; i++ {
		t.rows[i] = merge(t.rows[2*i], t.rows[2*i+1])
	}
	t.rows = t.rows[:n]
	t.stride *= 2
}

// Points returns a copy of the rows, including a last partial one.
func (t *Timeline) Points() []Point {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Point, len(t.rows), len(t.rows)+1)
	copy(out, t.rows)
	if t.pendN > 0 {
		out = append(out, t.pending)
	}
	return out
}

// point computes the row of one interval from its snapshot.
func (t *Timeline) point(s *engine.Snapshot) Point {
	iv := s.Interval
	p := Point{
		T:        round(iv.End.Seconds(), 6),
		DT:       round((iv.End - iv.Start).Seconds(), 6),
		Reqs:     t.reqs.Read(iv).Count,
		Errors:   t.failed.Read(iv).Hits,
		Planned:  iv.Planned,
		Dropped:  iv.Dropped,
		InFlight: s.InFlight,
	}
	if p.DT > 0 {
		p.RPS = round(float64(p.Reqs)/p.DT, 3)
	}
	if h := t.durations.Read(iv).Hist; h != nil {
		p.P50, p.P95, p.P99 = ms(h.Quantile(0.5)), ms(h.Quantile(0.95)), ms(h.Quantile(0.99))
	}
	if h := t.service.Read(iv).Hist; h != nil {
		p.ServiceP99 = ms(h.Quantile(0.99))
	}
	if iv.Lag != nil {
		p.LagP99 = ms(iv.Lag.Quantile(0.99))
	}
	return p
}
