package slo

import (
	"time"

	"github.com/loadgate/loadgate/engine"
)

// reading is a selection's value over some span of the run, with the
// request outcome of the same selection for the every-request-failed rule.
type reading struct {
	v    engine.Value
	span time.Duration // length of time v covers
	end  time.Duration // offset of the end of that time from the run's start
	// failHits of failTotal requests failed (latency selections only).
	failHits, failTotal int64
}

// allFailed reports whether there were requests and every one failed.
func (r *reading) allFailed() bool { return r.failTotal > 0 && r.failHits == r.failTotal }

// series is one selection, shared by every threshold on the same key, so a
// snapshot's Total is read (and, for multi-step trends, merged) once.
type series struct {
	sel *engine.Selection
	// failed selects http_req_failed with the same tags, for latency
	// selections; nil otherwise.
	failed *engine.Selection
	tick   int // Evaluator tick of cur
	cur    reading
}

func (s *series) read(p *engine.Period) reading {
	r := reading{v: s.sel.Read(p), span: p.End - p.Start, end: p.End}
	if s.failed != nil {
		f := s.failed.Read(p)
		r.failHits, r.failTotal = f.Hits, f.Total
	}
	return r
}

// total is the reading of the snapshot's Total, cached for the tick.
func (s *series) total(tick int, snap *engine.Snapshot) *reading {
	if s.tick != tick {
		s.cur, s.tick = s.read(snap.Total), tick
	}
	return &s.cur
}

// slot is the counts of one interval of a window.
type slot struct {
	hits, total, count  int64
	failHits, failTotal int64
	span                time.Duration
}

// window is a sliding window of the last n intervals of a series, shared by
// every threshold with the same key and window length. Counts are kept per
// interval in a ring with running sums; a trend's histograms in a slide.
type window struct {
	src   *series
	ring  []slot
	next  int  // ring index of the next push
	sum   slot // running sums of the ring
	hists *slide
	end   time.Duration
	tick  int
	cur   reading
}

func newWindow(src *series, n int) *window {
	w := &window{src: src, ring: make([]slot, n)}
	if src.sel.Metric.Type == engine.Trend {
		w.hists = &slide{n: n}
	}
	return w
}

// push adds the snapshot's interval, dropping the oldest beyond n.
func (w *window) push(p *engine.Period) {
	r := w.src.read(p)
	s := slot{hits: r.v.Hits, total: r.v.Total, count: r.v.Count,
		failHits: r.failHits, failTotal: r.failTotal, span: r.span}
	old := &w.ring[w.next]
	w.sum.hits += s.hits - old.hits
	w.sum.total += s.total - old.total
	w.sum.count += s.count - old.count
	w.sum.failHits += s.failHits - old.failHits
	w.sum.failTotal += s.failTotal - old.failTotal
	w.sum.span += s.span - old.span
	*old = s
	w.next = (w.next + 1) % len(w.ring)
	if w.hists != nil {
		w.hists.push(r.v.Hist)
	}
	w.end = p.End
}

// reading is the window's value, merged once per tick.
func (w *window) reading(tick int) *reading {
	if w.tick == tick {
		return &w.cur
	}
	w.tick = tick
	w.cur = reading{
		v: engine.Value{Type: w.src.sel.Metric.Type, Hits: w.sum.hits, Total: w.sum.total,
			Count: w.sum.count},
		span: w.sum.span, end: w.end, failHits: w.sum.failHits, failTotal: w.sum.failTotal,
	}
	if w.hists != nil {
		w.cur.v.Hist = w.hists.merged()
	}
	return &w.cur
}
