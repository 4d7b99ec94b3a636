package gate

import (
	"context"
	"fmt"
	"time"

	"github.com/loadgate/loadgate/capacity"
	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/report"
	"github.com/loadgate/loadgate/verdict"
)

// search runs the scenario's capacity search (load.search,
// docs/capacity.md) in place of one run: every step goes through run (the
// local engine or the coordinator, which splits each step's rate across
// the agents and merges their data into one verdict per step). The report
// is the step at the capacity, with the capacity section.
func (s *session) search(ctx context.Context, run capacity.RunFunc) int {
	sp := s.sc.Search
	r := &capacity.Runner{
		Plan: &s.sc.Plan, Thresholds: s.sc.Thresholds, Tolerances: s.sc.Generator, Timing: sp.Timing, Run: run,
		Observers: []engine.Observer{engine.ObserverFunc(func(sn *engine.Snapshot) { s.latest.Store(sn) })},
		StepStarts: func(i int, n capacity.Next) {
			s.step.Store(&stepState{index: i, rate: n.Rate})
			if !s.Quiet {
				fmt.Fprintf(s.Stderr, "loadgate: step %d: %s/s for %v (warm-up %v)\n", i+1, fmtRate(n.Rate),
					sp.Timing.Step*time.Duration(n.Longer), sp.Timing.Warmup)
			}
		},
		StepDone: func(st capacity.StepResult) {
			if s.Quiet {
				return
			}
			line := fmt.Sprintf("loadgate: step %d: %s/s %s", st.Index+1, fmtRate(st.Rate), st.Verdict)
			if st.Measured != nil && st.Measured.All != nil && st.Measured.All.Duration != nil && st.Measured.All.Duration.Count() > 0 {
				d := st.Measured.All.Duration
				line += fmt.Sprintf(" (p95 %v, p99 %v, %d requests)", d.Quantile(0.95), d.Quantile(0.99), st.Measured.All.Requests)
			}
			fmt.Fprintln(s.Stderr, line)
		},
	}
	out, err := r.Search(ctx, sp.Config)
	if err != nil {
		return s.fail(verdict.Invalid, err)
	}
	final, at := report.CapacityRun(out)
	s.capacity, s.capacityAt = out, at
	return s.finish(s.judgeSearch(out), final, out.Interrupted != nil)
}

// judgeSearch is the verdict of a search (docs/capacity.md, "Exit codes"):
// with a requirement, met passes and missed fails; without one, an answer
// within the precision (or the SLO holding at max) passes, a service that
// holds its SLO at no rate fails. A search the generator limited, that
// could not decide a step, or that ran out of budget is inconclusive,
// unless the requirement was decided anyway; an interrupted one is
// interrupted.
func (s *session) judgeSearch(o *capacity.Outcome) *verdict.Causes {
	v := &verdict.Causes{}
	a := o.Answer
	c := report.CapacityOf(o, nil)
	answer := "capacity: " + report.CapacityAnswer(c)
	if o.Interrupted != nil {
		v.Add(verdict.Interrupted, "interrupted by signal during the capacity search; the steps so far are in the report")
	}
	switch {
	case a.Met != nil && *a.Met:
		v.Add(verdict.Passed, answer)
	case a.Met != nil:
		v.Add(verdict.Failed, answer)
	case o.Config.MinRate > 0:
		v.Add(verdict.Inconclusive, answer+": the requirement could not be decided")
	case a.LimitedAt > 0:
		v.Add(verdict.Inconclusive, answer)
	case a.Capacity == 0 && a.FirstFailing > 0 && a.Done && o.Interrupted == nil && lastDecided(o):
		v.Add(verdict.Failed, answer)
	case a.Capacity > 0 && (a.FirstFailing > 0 && a.Precision <= o.Config.Precision || a.FirstFailing == 0 && a.Capacity >= o.Config.Max):
		v.Add(verdict.Passed, answer)
	default:
		v.Add(verdict.Inconclusive, answer)
	}
	return v
}

// lastDecided reports whether the search's last step was decided (pass or
// fail): a search that stopped on an undecided step has no answer.
func lastDecided(o *capacity.Outcome) bool {
	if len(o.Steps) == 0 {
		return false
	}
	v := o.Steps[len(o.Steps)-1].Verdict
	return v == capacity.Pass || v == capacity.Fail
}

func fmtRate(r float64) string { return fmt.Sprintf("%g", r) }

// stepState is the step a search is running, for /metrics.
type stepState struct {
	index int
	rate  float64
}

// currentStep is promexport's view of the step a search is running.
func (s *session) currentStep() (int, float64, bool) {
	if st := s.step.Load(); st != nil {
		return st.index, st.rate, true
	}
	return 0, 0, false
}
