package slo

import (
	"time"

	"github.com/loadgate/loadgate/engine"
)

// Observe evaluates every threshold on s: whole-run thresholds on s.Total,
// windowed ones on the window ending with s.Interval. Live and final
// evaluations run the same code; the Final snapshot turns pending states
// into verdicts. Snapshots after the Final one are ignored.
func (e *Evaluator) Observe(s *engine.Snapshot) {
	if s == nil || s.Total == nil || s.Interval == nil {
		return
	}
	abort, ok := e.observe(s)
	// Outside the lock: the callback may well call Results.
	if ok && e.opt.Abort != nil {
		e.opt.Abort(abort)
	}
}

func (e *Evaluator) observe(s *engine.Snapshot) (abort Result, aborting bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.final {
		return Result{}, false
	}
	e.tick++
	for _, w := range e.windows {
		w.push(s.Interval)
	}
	at := s.Total.End
	for _, c := range e.checks {
		if c.res.Skipped || c.sli != nil { // SLIs are fed by ObserveSLI
			continue
		}
		r := c.reading(e.tick, s)
		var o Outcome
		if c.win != nil {
			// A window is judged by the live rules even on the last
			// snapshot: the verdict comes from all windows (finishWindow).
			o = c.judge(r, false)
			c.recordWindow(o, r.end, at)
		} else {
			o = c.judge(r, s.Final)
			c.recordWhole(o, at)
		}
		if o.Verdict == VerdictFail && !s.Final && e.mayAbort(c, at) {
			c.res.Aborted, e.aborted = true, true
			abort, aborting = c.result(), true
		}
		if s.Final {
			c.finish(r, at)
		}
	}
	e.final = s.Final
	return abort, aborting
}

// mayAbort reports whether a live failure of c stops the run now.
func (e *Evaluator) mayAbort(c *check, at time.Duration) bool {
	th := &c.res.Threshold
	return !e.aborted && th.AbortOnFail && th.Severity == Fail && at >= th.Delay
}

// finish turns the check's state into its final verdict.
func (c *check) finish(last *reading, at time.Duration) {
	if c.win != nil {
		c.finishWindow(last, at)
	}
	if c.res.Aborted {
		// The run stopped because of this threshold: whatever the data did
		// after, it failed.
		c.res.Passed = false
	}
}

// result is the check's Result with its reason, typed and in words.
func (c *check) result() Result {
	r := c.res
	r.Reason = c.reason()
	switch {
	case r.Skipped:
		r.Why = WhySkipped
	case c.sli != nil && c.sli.err != "":
		r.Why = WhyQuery
	case !r.Passed:
		r.Why = c.why
	}
	if c.breached {
		r.WindowEnd = c.breachEnd
	}
	return r
}

// Results returns the state of every threshold, in the order given to New:
// the final verdict once the Final snapshot was observed, the live state
// before.
func (e *Evaluator) Results() []Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Result, len(e.checks))
	for i, c := range e.checks {
		out[i] = c.result()
	}
	return out
}

// Failed reports whether a fail-severity threshold has failed: its final
// verdict after the Final snapshot (no data included), its live state
// before. Skipped and warn-severity thresholds never count.
func (e *Evaluator) Failed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.checks {
		r := &c.res
		if r.Threshold.Severity == Fail && !r.Skipped && !r.Pending && !r.Passed && !r.Undecided {
			return true
		}
	}
	return false
}
