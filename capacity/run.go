package capacity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/slo"
)

// Timing is how each step of a search runs (docs/capacity.md).
type Timing struct {
	// Warmup runs at the step's rate before the measurement; its requests
	// are not judged (connections, caches and JITs settle).
	Warmup time.Duration
	// Step is how long the measurement of a step lasts; a retried
	// undecided step measures Longer times as long.
	Step time.Duration
	// Cooldown is an idle pause between two steps (0: none).
	Cooldown time.Duration
	// Budget bounds the whole search's wall time (0: none): a step that
	// would end past it is not started, and the search reports where it
	// got to.
	Budget time.Duration
}

// RunFunc runs a plan and hands its snapshots to obs: a local
// engine.Engine's Run, or a cluster coordinator's, which has the same
// shape (one verdict per step on the agents' merged data).
type RunFunc func(ctx context.Context, plan *engine.Plan, obs ...engine.Observer) (*engine.Result, error)

// Runner runs a search step by step. Its fields are set before Search and
// not changed after.
type Runner struct {
	// Plan is the scenario's plan: each step runs a copy whose load is a
	// constant rate (open model) for Warmup + Step.
	Plan       *engine.Plan
	Thresholds []slo.Threshold
	// Tolerances judge the generator's own health in each step's
	// measurement: past them the step is generator-limited.
	Tolerances engine.Tolerances
	Timing     Timing
	Run        RunFunc
	// Observers get every snapshot of every step, warm-up included
	// (progress, /metrics); StepStarts is called before each step and
	// StepDone after it, with its verdict.
	Observers  []engine.Observer
	StepStarts func(index int, next Next)
	StepDone   func(StepResult)
}

// StepResult is one step as it ran.
type StepResult struct {
	Index   int // 0-based
	Rate    float64
	Longer  int
	Verdict Verdict
	// Measured is the judged part of the step (after the warm-up); nil
	// when the step stopped before its measurement began.
	Measured *engine.Period
	// Measuring is how long the measurement's load lasted: from the first
	// measured interval to the load's stop (the drain left out).
	Measuring time.Duration
	Results   []slo.Result
	Health    []engine.HealthProblem
	// Aborted is set when an abort_on_fail threshold ended the step early.
	Aborted bool
	Started time.Time
	Elapsed time.Duration
	// Plan is the plan the step ran (its load is the step's).
	Plan *engine.Plan
}

// Outcome is a finished (or stopped) search.
type Outcome struct {
	Config Config
	Timing Timing
	Steps  []StepResult
	Answer Answer
	// Interrupted is the cause when the caller's context ended the search
	// (a signal): the steps so far are kept, the last one is not judged.
	Interrupted error
	Started     time.Time
	Elapsed     time.Duration
}

// errStepAborted ends one step whose abort_on_fail threshold failed: the
// search goes on, the step is a failure.
var errStepAborted = errors.New("capacity: the step failed an abort_on_fail threshold")

// Search runs the search of cfg to its end, the budget, or ctx's end.
// The error is for a step that could not run at all (a plan the engine
// refuses); a failing target is a verdict, not an error.
func (r *Runner) Search(ctx context.Context, cfg Config) (*Outcome, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	out := &Outcome{Config: s.cfg, Timing: r.Timing, Started: time.Now()}
	defer func() { out.Answer, out.Elapsed = s.Answer(), time.Since(out.Started) }()
	for i := 0; ; i++ {
		n, ok := s.Next()
		if !ok {
			return out, nil
		}
		if b := r.Timing.Budget; b > 0 {
			need := r.Timing.Warmup + r.Timing.Step*time.Duration(n.Longer)
			if i > 0 {
				need += r.Timing.Cooldown
			}
			if spent := time.Since(out.Started); spent+need > b {
				s.Stop(fmt.Sprintf("the budget of %v is spent (%v used; the next step, %s, needs %v)", b, spent.Round(time.Second), fmtRate(n.Rate), need))
				return out, nil
			}
		}
		if i > 0 && r.Timing.Cooldown > 0 {
			select {
			case <-time.After(r.Timing.Cooldown):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			out.Interrupted = context.Cause(ctx)
			s.Stop("interrupted")
			return out, nil
		}
		if r.StepStarts != nil {
			r.StepStarts(i, n)
		}
		st, err := r.step(ctx, i, n)
		if err != nil {
			return out, err
		}
		if ctx.Err() != nil {
			// Cut short by the caller: kept as it ran, not judged.
			out.Interrupted = context.Cause(ctx)
			st.Verdict = Undecided
			out.Steps = append(out.Steps, st)
			s.Stop("interrupted")
			return out, nil
		}
		out.Steps = append(out.Steps, st)
		s.Record(st.Verdict)
		if r.StepDone != nil {
			r.StepDone(st)
		}
	}
}

// StepPlan is the plan of a step at rate that measures longer times the
// configured step: the scenario's plan with a constant open-model load.
func (r *Runner) StepPlan(rate float64, longer int) *engine.Plan {
	p := *r.Plan
	p.Load.Model = engine.Open
	p.Load.StartRate = rate
	p.Load.Stages = []engine.Stage{{Duration: r.Timing.Warmup + r.Timing.Step*time.Duration(longer), Target: rate}}
	return &p
}

// step runs one step and judges it.
func (r *Runner) step(ctx context.Context, i int, n Next) (StepResult, error) {
	plan := r.StepPlan(n.Rate, n.Longer)
	st := StepResult{Index: i, Rate: n.Rate, Longer: n.Longer, Plan: plan, Started: time.Now()}
	stepCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ev, err := slo.New(plan, r.Thresholds, slo.Options{Abort: func(slo.Result) { cancel(errStepAborted) }})
	if err != nil {
		return st, err
	}
	m := &measured{from: r.Timing.Warmup, sum: engine.NewSum(plan), next: ev}
	obs := append([]engine.Observer{m}, r.Observers...)
	res, err := r.Run(stepCtx, plan, obs...)
	if err != nil {
		return st, err
	}
	st.Elapsed = time.Since(st.Started)
	st.Aborted = errors.Is(res.Stopped, errStepAborted)
	st.Results = ev.Results()
	if m.total != nil {
		// The measurement lasts until the load stopped: the drain of the
		// requests in flight after it planned and started nothing.
		end := m.total.End
		if res.StoppedAt > m.total.Start && res.StoppedAt < end {
			end = res.StoppedAt
		}
		st.Measured = m.total
		st.Measuring = end - m.total.Start
		st.Health = r.Tolerances.Problems(engine.Open, m.total)
	}
	st.Verdict = judge(st)
	return st, nil
}

// judge is a step's verdict. A generator that could not hold the rate
// makes the step's numbers say more about the generator than the target:
// it wins over the thresholds. Then a failed threshold (an undecided one
// that counts as failed included), then an undecided one (or no
// measurement at all), then pass.
func judge(st StepResult) Verdict {
	if len(st.Health) > 0 {
		return GeneratorLow
	}
	if st.Aborted {
		return Fail
	}
	if st.Measured == nil {
		return Undecided
	}
	undecided := false
	for _, res := range st.Results {
		if res.Skipped || res.Passed || res.Threshold.Severity == slo.Warn {
			continue
		}
		switch {
		case res.Undecided && res.Threshold.Undecided == slo.UndecidedPasses:
		case res.Undecided && res.Threshold.Undecided == slo.Inconclusive:
			undecided = true
		default:
			return Fail
		}
	}
	if undecided {
		return Undecided
	}
	return Pass
}

// measured forwards a step's snapshots to next with the warm-up left out:
// Total is the sum of the intervals that began at or after from, so the
// evaluator judges only the measurement, with the same code as a run.
// Warm-up snapshots are not forwarded (a windowed threshold sees only
// measured windows), except a Final one, which ends the evaluation.
type measured struct {
	from  time.Duration
	sum   *engine.Sum
	next  engine.Observer
	start time.Duration // the first measured interval's start, once any
	any   bool
	total *engine.Period // the last Total forwarded
}

func (m *measured) Observe(s *engine.Snapshot) {
	if s.Interval == nil {
		return
	}
	if s.Interval.Start >= m.from {
		if !m.any {
			m.any, m.start = true, s.Interval.Start
		}
		m.sum.Add(s.Interval)
	}
	if !m.any && !s.Final {
		return
	}
	start := m.start
	if !m.any {
		start = s.Interval.End
	}
	c := *s
	c.Total = m.sum.Period(start, s.Interval.End)
	if m.any {
		m.total = c.Total
	}
	m.next.Observe(&c)
}
