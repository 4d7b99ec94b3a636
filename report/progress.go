package report

import (
	"io"
	"strings"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/slo"
)

// DefaultProgressEvery is how often a Progress prints a plain line when the
// output is not a terminal: often enough to see a run move in a CI log,
// rarely enough not to flood it.
const DefaultProgressEvery = 5 * time.Second

// ProgressOptions configures a Progress. The zero value prints plain lines
// every DefaultProgressEvery without color or thresholds.
type ProgressOptions struct {
	// TTY redraws a single line every interval; otherwise a plain line is
	// printed every Every.
	TTY bool
	// Color adds ANSI colors and ✓/✗ markers (PASS/FAIL words without).
	Color bool
	// Total is the planned length of the run, shown as elapsed/total.
	Total time.Duration
	// Every is the cadence of plain lines; 0 means DefaultProgressEvery.
	Every time.Duration
	// Width cuts the line to this many columns (a wrapped line cannot be
	// redrawn in place); 0 does not cut.
	Width int
	// Thresholds returns the live threshold results, called from Observe.
	// Register the slo.Evaluator before the Progress so they are current.
	Thresholds func() []slo.Result
}

// Progress is an engine.Observer that draws the live console line: elapsed
// time, requests per second, arrivals started vs planned per second (open
// model), iterations in flight, the interval's
// p50/p95/p99, its error share and the thresholds' state. The figures are
// those of the latest interval. Quiet mode is not registering one.
//
// Progress is used only from the collector goroutine. Write errors are
// ignored: the console line must never fail a run.
type Progress struct {
	w    io.Writer
	opt  ProgressOptions
	open bool // open model: there is a planned rate to show

	durations, reqs, failed *engine.Selection

	last  time.Duration // run offset of the last plain line
	drawn bool          // a TTY line is on screen and needs a newline at the end
}

// NewProgress returns a Progress writing to w for runs of plan p.
func NewProgress(w io.Writer, p *engine.Plan, opt ProgressOptions) *Progress {
	if opt.Every <= 0 {
		opt.Every = DefaultProgressEvery
	}
	return &Progress{
		w:         w,
		opt:       opt,
		open:      p.Load.Model == engine.Open,
		durations: mustSelect(p, "http_req_duration"),
		reqs:      mustSelect(p, "http_reqs"),
		failed:    mustSelect(p, "http_req_failed"),
	}
}

// Observe draws the line for s when it is due.
func (p *Progress) Observe(s *engine.Snapshot) {
	if s == nil || s.Interval == nil {
		return
	}
	if p.opt.TTY {
		line := "\r\x1b[K" + p.Line(s)
		if s.Final {
			line += "\n"
		}
		_, _ = io.WriteString(p.w, line)
		return
	}
	if !s.Final && s.Interval.End-p.last < p.opt.Every {
		return
	}
	p.last = s.Interval.End
	_, _ = io.WriteString(p.w, p.Line(s)+"\n")
}

// Line renders the progress line of s, without control characters.
func (p *Progress) Line(s *engine.Snapshot) string {
	iv := s.Interval
	dt := (iv.End - iv.Start).Seconds()
	var b line
	b.width = p.opt.Width
	b.add(fmtElapsed(iv.End, p.opt.Total), "")
	// Like with like (docs/reports.md, "The progress line"): requests per
	// second on their own, and, in the open model, arrivals started per
	// second against arrivals planned (a flow of three steps sends three
	// requests per arrival). The closed model plans no rate, and an
	// interval with nothing planned (the tail after the schedule, a stage
	// at rate 0) shows no planned figure rather than "/0".
	reqs := p.reqs.Read(iv).Count
	rate := "0"
	if dt > 0 {
		rate = trimFloat(float64(reqs)/dt, 1)
	}
	b.add(rate+" req/s", "")
	if p.open && dt > 0 && (iv.Planned > 0 || iv.Started > 0) {
		arr := trimFloat(float64(iv.Started)/dt, 1)
		if iv.Planned > 0 {
			arr += "/" + trimFloat(float64(iv.Planned)/dt, 1)
		}
		b.add(arr+" arrivals/s", "")
	}
	b.add("in flight "+fmtNum(float64(s.InFlight)), "")
	if h := p.durations.Read(iv).Hist; h != nil && h.Count() > 0 {
		b.add("p50 "+fmtMS(ms(h.Quantile(0.5)))+" p95 "+fmtMS(ms(h.Quantile(0.95)))+" p99 "+fmtMS(ms(h.Quantile(0.99))), "")
	} else {
		b.add("p50 - p95 - p99 -", "")
	}
	f := p.failed.Read(iv)
	errShare := 0.0
	if f.Total > 0 {
		errShare = float64(f.Hits) / float64(f.Total)
	}
	b.add("errors "+fmtShare(errShare), "")
	if p.opt.Thresholds != nil {
		for _, r := range p.opt.Thresholds() {
			m := markOf(r.Passed, r.Skipped, r.Undecided, r.Threshold.Severity.String())
			if r.Evaluations == 0 && !r.Failed && !r.Skipped {
				m = markPending
			}
			text := r.Key + " " + r.Threshold.Expr
			b.add(m.visible(p.opt.Color)+" "+text, m.render(p.opt.Color)+" "+text)
		}
	}
	return b.String()
}

// line joins segments with two spaces and stops, with an ellipsis, before
// the visible width would pass the limit (the first segment always fits in
// practice: elapsed time is a few columns). It measures the plain text of a
// segment and writes its colored form, so that color codes never count and
// are never cut.
type line struct {
	sb      strings.Builder
	visible int
	width   int
	full    bool
}

func (l *line) add(plain, colored string) {
	if l.full {
		return
	}
	if colored == "" {
		colored = plain
	}
	n := len([]rune(plain))
	if l.visible > 0 {
		n += 2
	}
	// Two columns stay free for the ellipsis, so a cut is always marked.
	if l.width > 0 && l.visible+n > l.width-2 {
		l.full = true
		l.sb.WriteString(" …")
		return
	}
	if l.visible > 0 {
		l.sb.WriteString("  ")
	}
	l.sb.WriteString(colored)
	l.visible += n
}

func (l *line) String() string { return l.sb.String() }

// fmtElapsed formats elapsed/total in whole seconds.
func fmtElapsed(elapsed, total time.Duration) string {
	s := elapsed.Round(time.Second).String()
	if total > 0 {
		s += "/" + total.Round(time.Second).String()
	}
	return s
}
