package gate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/scenarios"
	"github.com/loadgate/loadgate/sli"
	"github.com/loadgate/loadgate/slo"
	"github.com/loadgate/loadgate/verdict"
)

// healthProblems lists why a run's measurement cannot be trusted under the
// scenario's generator tolerances (the generator block; docs/reliability.md
// row 13). Only the generator's own lag and shortfall count: arrivals that
// waited for a free slot or found none are the target's doing
// (docs/metrics.md, "The generator's health").
func (s *session) healthProblems(final *engine.Snapshot) []string {
	if final == nil {
		return nil
	}
	var out []string
	for _, p := range s.sc.Generator.Problems(s.sc.Plan.Load.Model, final.Total) {
		out = append(out, p.Message)
	}
	return out
}

// noSlotNote explains failed requests of kind no_free_slot in the reason
// of a failed threshold that counts them (http_req_failed, checks,
// dropped_iterations): they are arrivals the target left no slot for, not
// requests that were sent. "" when there are none.
func (s *session) noSlotNote(r slo.Result, final *engine.Snapshot) string {
	if final == nil || final.Total == nil || final.Total.Dropped == 0 {
		return ""
	}
	switch r.Threshold.Metric {
	case "http_req_failed", "checks", "dropped_iterations":
	default:
		return ""
	}
	return fmt.Sprintf("; %d of the planned arrivals found no free slot (max_in_flight %d full of slow responses) and count as failed (no_free_slot): the target's doing, not the generator's",
		final.Total.Dropped, maxInFlight(&s.sc.Plan))
}

func maxInFlight(p *engine.Plan) int {
	if p.Load.MaxInFlight > 0 {
		return p.Load.MaxInFlight
	}
	return engine.DefaultMaxInFlight
}

// loadWarnings says what a reader of the reports must know about how the
// load ended: arrivals that found no free slot, arrivals the generator did
// not start, requests cut off at the end of graceful_stop.
func (s *session) loadWarnings(final *engine.Snapshot) []string {
	if final == nil || final.Total == nil {
		return nil
	}
	t := final.Total
	var out []string
	if t.Dropped > 0 {
		how := "were still waiting for one when the load stopped"
		if s.sc.Plan.Load.Overload == engine.Drop {
			how = "were dropped (overload: drop) or still waiting when the load stopped"
		}
		out = append(out, fmt.Sprintf("%d arrivals found no free slot (max_in_flight %d was full of slow responses) and %s: they count as failed requests (no_free_slot) in http_req_failed",
			t.Dropped, maxInFlight(&s.sc.Plan), how))
	}
	if t.Cancelled > 0 {
		out = append(out, fmt.Sprintf("%d requests were still in flight %v after the load stopped (graceful_stop) and were cancelled: they are not in the request metrics",
			t.Cancelled, s.sc.Plan.StopGrace()))
	}
	return out
}

// healthWatch is an Observer that warns on stderr as soon as the generator
// falls behind, once per tolerance, so that a user watching a long run
// knows it will end inconclusive without waiting for the end. It is added
// even with --quiet: a warning is not progress.
type healthWatch struct {
	tol    engine.Tolerances
	model  engine.Model
	w      io.Writer
	tty    bool
	prev   *engine.Period
	warned map[string]bool
}

func (s *session) healthWatch() *healthWatch {
	return &healthWatch{tol: s.sc.Generator, model: s.sc.Plan.Load.Model, w: s.Stderr, tty: s.TTY, warned: map[string]bool{}}
}

// Observe checks the running totals against the previous snapshot's.
func (h *healthWatch) Observe(sn *engine.Snapshot) {
	prev := h.prev
	h.prev = sn.Total
	if sn.Final {
		return // the verdict reports it
	}
	for _, p := range h.tol.Live(h.model, prev, sn.Total, sn.Waiting) {
		if h.warned[p.Check] {
			continue
		}
		h.warned[p.Check] = true
		clear := ""
		if h.tty {
			clear = "\r\x1b[K" // the progress line is redrawn after this
		}
		fmt.Fprintf(h.w, "%sloadgate: warning at %v: %s; the run ends inconclusive (exit 4) if this still holds at its end\n",
			clear, sn.Total.End.Round(100*time.Millisecond), p.Message)
	}
}

// preflightCheck is the whole preflight (docs/exit-codes.md), before
// anything is sent: the local open-files limit against the plan's peak in
// flight (docs/reliability.md, row 11) and every target (not with agents, which
// check their own), side by side with one query of each SLI the thresholds
// judge (q and names; q may be nil). It returns the verdict of a run that
// must not start, with every cause, or nil: exit 2 for a query Prometheus
// refuses (at the query's position in the scenario), else exit 3.
func (s *session) preflightCheck(ctx context.Context, plan *engine.Plan, q *sli.Querier, names []string) *verdict.Causes {
	var targets error
	var wg sync.WaitGroup
	if s.Coordinator == nil {
		wg.Go(func() {
			if targets = engine.CheckFDLimit(plan); targets == nil {
				targets = s.Engine.Preflight(ctx, plan, preflightTimeout)
			}
		})
	}
	slis := make([]*sli.QueryError, len(names))
	now := time.Now()
	for i, n := range names {
		wg.Go(func() { slis[i] = q.Check(ctx, n, now) })
	}
	wg.Wait()
	v := &verdict.Causes{}
	if bad := stepErrors(targets); len(bad) > 0 {
		for _, se := range bad {
			pos := s.sc.StepPos(se.Flow, se.Step)
			v.Add(verdict.Invalid, fmt.Sprintf("%s:%d:%d: %v", s.sc.Path, pos.Line, pos.Col, se))
		}
	} else if targets != nil {
		v.Add(verdict.PreflightFailed, "preflight: "+targets.Error())
	}
	for _, e := range slis {
		switch {
		case e == nil:
		case e.Fault == sli.FaultQuery:
			v.Add(verdict.Invalid, s.sliQueryProblem(e))
		default:
			v.Add(verdict.PreflightFailed, "preflight: "+e.Error())
		}
	}
	if v.Status() == verdict.Passed {
		return nil
	}
	return v
}

// sliQueryProblem says where in the scenario a query Prometheus refused
// is, as the scenario's own errors do (file:line:col: ...): at the position
// of Prometheus's parse error when it gave one, else at the query.
// stepErrors are the steps the preflight found cannot run as written
// (engine.StepError, joined by Preflight): bad input, exit 2.
func stepErrors(err error) []*engine.StepError {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else if err != nil {
		errs = []error{err}
	}
	var out []*engine.StepError
	for _, e := range errs {
		var se *engine.StepError
		if errors.As(e, &se) {
			out = append(out, se)
		}
	}
	return out
}

func (s *session) sliQueryProblem(e *sli.QueryError) string {
	pos := scenarios.Pos{Line: 1, Col: 1}
	if q, ok := s.sc.SLI().Query(e.Name); ok {
		pos = q.QueryPos
		if e.Offset >= 0 {
			pos = q.PosAt(e.Offset)
		}
	}
	msg := fmt.Sprintf("%s:%d:%d: sli query %s: %s", s.sc.Path, pos.Line, pos.Col, e.Name, e.Msg)
	if e.Refused {
		msg = fmt.Sprintf("%s:%d:%d: sli query %s: prometheus %s refused it: %s", s.sc.Path, pos.Line, pos.Col, e.Name, e.Server, e.Msg)
	}
	if e.Offset < 0 && e.Sent != "" {
		msg += " (query as sent: " + e.Sent + ")"
	}
	return msg
}
