package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/loadgate/loadgate/capacity"
	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/report"
	"github.com/loadgate/loadgate/scenarios"
)

// search runs the scenario's capacity search (load.search,
// docs/capacity.md) in place of one run: every step goes through run (the
// local engine or the coordinator, which splits each step's rate across
// the agents and merges their data into one verdict per step). The report
// is the step at the capacity, with the capacity section.
func (s *session) search(ctx context.Context, run capacity.RunFunc) error {
	sp := s.sc.Search
	r := &capacity.Runner{
		Plan: &s.sc.Plan, Thresholds: s.sc.Thresholds, Tolerances: s.sc.Generator, Timing: sp.Timing, Run: run,
		Observers: []engine.Observer{engine.ObserverFunc(func(sn *engine.Snapshot) { s.latest.Store(sn) })},
		StepStarts: func(i int, n capacity.Next) {
			s.step.Store(&stepState{index: i, rate: n.Rate})
			if !s.quiet {
				fmt.Fprintf(s.stderr, "loadgate: step %d: %s/s for %v (warm-up %v)\n", i+1, fmtRate(n.Rate),
					sp.Timing.Step*time.Duration(n.Longer), sp.Timing.Warmup)
			}
		},
		StepDone: func(st capacity.StepResult) {
			if s.quiet {
				return
			}
			line := fmt.Sprintf("loadgate: step %d: %s/s %s", st.Index+1, fmtRate(st.Rate), st.Verdict)
			if st.Measured != nil && st.Measured.All != nil && st.Measured.All.Duration != nil && st.Measured.All.Duration.Count() > 0 {
				d := st.Measured.All.Duration
				line += fmt.Sprintf(" (p95 %v, p99 %v, %d requests)", d.Quantile(0.95), d.Quantile(0.99), st.Measured.All.Requests)
			}
			fmt.Fprintln(s.stderr, line)
		},
	}
	out, err := r.Search(ctx, sp.Config)
	if err != nil {
		return s.fail(exitInvalid, err)
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
func (s *session) judgeSearch(o *capacity.Outcome) *verdict {
	v := &verdict{}
	a := o.Answer
	c := report.CapacityOf(o, nil)
	answer := "capacity: " + report.CapacityAnswer(c)
	if o.Interrupted != nil {
		v.add(exitInterrupted, "interrupted by signal during the capacity search; the steps so far are in the report")
	}
	switch {
	case a.Met != nil && *a.Met:
		v.add(exitPassed, answer)
	case a.Met != nil:
		v.add(exitFailed, answer)
	case o.Config.MinRate > 0:
		v.add(exitInconclusive, answer+": the requirement could not be decided")
	case a.LimitedAt > 0:
		v.add(exitInconclusive, answer)
	case a.Capacity == 0 && a.FirstFailing > 0 && a.Done && o.Interrupted == nil && lastDecided(o):
		v.add(exitFailed, answer)
	case a.Capacity > 0 && (a.FirstFailing > 0 && a.Precision <= o.Config.Precision || a.FirstFailing == 0 && a.Capacity >= o.Config.Max):
		v.add(exitPassed, answer)
	default:
		v.add(exitInconclusive, answer)
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

func capacityCmd(args []string, stdout, stderr io.Writer) error {
	var sf searchFlags
	return runScenario("capacity", "capacity SCENARIO.yaml [--from R --max R] [flags]", args, stdout, stderr, &sf)
}

// searchFlags are the keys of load.search on the command line: they
// replace the scenario's (or make a search of a scenario without one,
// which then needs --from and --max).
type searchFlags struct {
	from, max, minRate             float64
	precision                      string
	step, warmup, cooldown, budget time.Duration
}

func (sf *searchFlags) register(fs *pflag.FlagSet) {
	fs.Float64Var(&sf.from, "from", 0, "the first rate tried (load.search.from)")
	fs.Float64Var(&sf.max, "max", 0, "never try a rate above this (load.search.max)")
	fs.StringVar(&sf.precision, "precision", "", "stop when the failing and passing rates are this close, e.g. 5% (load.search.precision)")
	fs.DurationVar(&sf.step, "step", 0, "how long each step is measured (load.search.step; default 30s)")
	fs.DurationVar(&sf.warmup, "warmup", 0, "a warm-up before each step's measurement, not judged (load.search.warmup; default 5s)")
	fs.DurationVar(&sf.cooldown, "cooldown", 0, "an idle pause between steps (load.search.cooldown)")
	fs.DurationVar(&sf.budget, "budget", 0, "stop the search after this long, with the interval it got to (load.search.budget)")
	fs.Float64Var(&sf.minRate, "min-rate", 0, "a capacity gate: exit 0 when the SLO holds at this rate or more, 1 when not (load.search.require.min_rate)")
}

// apply makes sc a search with the flags given over the scenario's own.
func (sf *searchFlags) apply(fs *pflag.FlagSet, sc *scenarios.Scenario) error {
	s := sc.Search
	if s == nil {
		if !fs.Changed("from") || !fs.Changed("max") {
			return usagef(fmt.Sprintf("%s has no load.search: give --from and --max (e.g. --from 50 --max 5000), or a load.search section", sc.Path))
		}
		s = scenarios.NewSearch(sf.from, sf.max)
	} else {
		c := *s
		s = &c
	}
	set := func(name string, apply func()) {
		if fs.Changed(name) {
			apply()
		}
	}
	set("from", func() { s.Config.From = sf.from })
	set("max", func() { s.Config.Max = sf.max })
	set("min-rate", func() { s.Config.MinRate = sf.minRate })
	set("step", func() { s.Timing.Step = sf.step })
	set("warmup", func() { s.Timing.Warmup = sf.warmup })
	set("cooldown", func() { s.Timing.Cooldown = sf.cooldown })
	set("budget", func() { s.Timing.Budget = sf.budget })
	if fs.Changed("precision") {
		p, err := parseShare(sf.precision)
		if err != nil {
			return usagef("--precision: " + err.Error())
		}
		s.Config.Precision = p
	}
	if err := sc.SetSearch(s); err != nil {
		return usagef(err.Error())
	}
	if e := sc.Plan.CheckLoad(); e != nil {
		return usagef(fmt.Sprintf("--max %g: %s", s.Config.Max, e.Msg))
	}
	return nil
}

// parseShare reads 5% or 0.05.
func parseShare(v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	if err == nil && strings.HasSuffix(v, "%") {
		f /= 100
	}
	if err != nil || !(f > 0 && f < 1) {
		return 0, fmt.Errorf("want a share between 0%% and 100%%, e.g. 5%%, got %q", v)
	}
	return f, nil
}
