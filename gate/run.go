package gate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/loadgate/loadgate/capacity"
	"github.com/loadgate/loadgate/cluster"
	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/internal/procstat"
	"github.com/loadgate/loadgate/report"
	"github.com/loadgate/loadgate/scenarios"
	"github.com/loadgate/loadgate/slo"
	"github.com/loadgate/loadgate/verdict"
)

// Tool is the tool name every report carries.
const Tool = "loadgate"

// Why a run was stopped early; the context's cause tells them apart.
var (
	errInterrupted = errors.New("interrupted by signal")
	errAborted     = errors.New("aborted by threshold")
)

// preflightTimeout bounds the connection check of each target.
const preflightTimeout = 5 * time.Second

// PartialEvery is how often the JSON so far is rewritten during a run
// (docs/reliability.md, row 18: a SIGKILL or an OOM kill loses at most
// this much).
const PartialEvery = 10 * time.Second

// Config is one run of a scenario: what to run, where to print and what to
// write. The caller has checked the outputs (CheckOutputs) and the
// scenario; Stdout and Stderr are written as given (the CLI passes writers
// that redact the scenario's secrets).
type Config struct {
	Scenario *scenarios.Scenario
	// Engine runs the plan locally; Coordinator, when set, runs it on
	// agents instead, and a lost agent makes the run inconclusive unless
	// TolerateAgentLoss.
	Engine            *engine.Engine
	Coordinator       *cluster.Coordinator
	TolerateAgentLoss bool
	Outputs           []Output
	// Quiet drops the live progress (not the warnings); Color colors the
	// text summary on stdout and the progress; TTY says that Stderr is a
	// terminal (the progress redraws one line).
	Quiet, Color, TTY bool
	// Preflight checks the targets and the SLI queries before the run.
	Preflight bool
	Stdout    io.Writer
	Stderr    io.Writer
	// Baseline resolves baseline thresholds (slo.Options.Baseline); nil
	// without a baseline run.
	Baseline func(key string, agg slo.Expr) (float64, bool, string)
	// MetricsAddr serves Prometheus /metrics during the run ("" for none),
	// kept up at most MetricsLinger after it (docs/metrics.md).
	MetricsAddr   string
	MetricsLinger time.Duration
	// ConsoleCode is the exit code the STATUS line on stdout says for a
	// report's code (--exit-code-on-fail; docs/exit-codes.md); nil keeps it.
	ConsoleCode func(int) int
	// Warnings are known before the run (tls.insecure_skip_verify, the
	// baseline's) and go into every report.
	Warnings []string
	Version  string

	// Test seams, set by this package's tests only: extra observers after
	// the run's own (an observer that panics), the cadence of the partial
	// reports (PartialEvery when 0), and what a second signal calls
	// (os.Exit when nil).
	observers    []engine.Observer
	partialEvery time.Duration
	exit         func(code int)
}

// session is the state of one Run.
type session struct {
	Config
	sc *scenarios.Scenario

	started  time.Time
	eval     *slo.Evaluator
	timeline *report.Timeline
	latest   atomic.Pointer[engine.Snapshot]
	abortRes atomic.Pointer[slo.Result]
	partials *partials // rewrites <json>.partial during the run (partial.go)
	// writeMu makes report writing happen once; code is the exit code that
	// writing decided, for a second signal that arrives during or after it.
	writeMu sync.Mutex
	written bool
	code    int
	// measureStart is when the measurement began (report offsets): set
	// before the run, and again by a coordinator at the agents' common
	// start, while the partial reports may read it.
	measureStart atomic.Pointer[time.Time]
	// interrupted is closed by the first SIGINT/SIGTERM.
	interrupted chan struct{}
	// notStarted is set when the load never started (fail, failAgents,
	// failPreflight), and implied before loadStarting (every end before the
	// run: a failed preflight, a bad metrics address, a bug); the reports
	// show the thresholds as not run (docs/reports.md, "A run that never
	// started").
	notStarted   bool
	loadStarting bool
	// runID is in every report of the run, the partial ones too, so that
	// merge can refuse one run given twice (docs/reports.md).
	runID string
	// capacity is the outcome of a capacity search (search.go), nil for
	// a run; capacityAt the step whose measurement the report shows.
	capacity   *capacity.Outcome
	capacityAt *capacity.StepResult
	// step is the step a search is running, read by /metrics.
	step atomic.Pointer[stepState]
}

// Run runs the scenario, writes every report once and returns the exit
// code of the verdict (docs/exit-codes.md), before any ConsoleCode.
func Run(cfg Config) int {
	s := &session{Config: cfg, sc: cfg.Scenario}
	return s.execute()
}

// execute runs the session's scenario and returns the verdict's code.
func (s *session) execute() (code int) {
	s.started = time.Now()
	s.runID = report.NewRunID()
	plan := &s.sc.Plan
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(s.Stderr, "loadgate: internal error: %v\n", p)
			v := &verdict.Causes{}
			v.Add(verdict.Internal, fmt.Sprintf("internal error: %v", p))
			code = s.finish(v, s.latest.Load(), true)
		}
	}()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	ev, err := slo.New(plan, s.sc.Thresholds, slo.Options{Abort: func(r slo.Result) {
		s.abortRes.Store(&r)
		cancel(errAborted)
	}, Baseline: s.Baseline})
	if err != nil {
		return s.fail(verdict.Invalid, err)
	}
	s.eval = ev
	q, names, err := s.sliQuerier() // sli_schedule.go
	if err != nil {
		return s.fail(verdict.Invalid, err)
	}
	if s.Preflight {
		if v := s.preflightCheck(ctx, plan, q, names); v != nil { // health.go
			return s.failPreflight(v)
		}
	}
	x, err := s.startSchedule(q, names) // /metrics and Prometheus SLIs (sli_schedule.go)
	if err != nil {
		return s.fail(verdict.Invalid, err)
	}
	defer x.close()
	s.timeline = report.NewTimeline(plan)
	// The engine's offsets count from its start, a moment after this (it
	// only builds clients first); set once, before anything reads it.
	s.setMeasureStart(time.Now())
	if s.sc.Search == nil {
		// A search's reports are its steps: no .partial of one step.
		s.partials = s.startPartials()
	}
	obs := []engine.Observer{ev, s.timeline, engine.ObserverFunc(func(sn *engine.Snapshot) { s.latest.Store(sn) })}
	if !s.Quiet {
		obs = append(obs, report.NewProgress(s.Stderr, plan, report.ProgressOptions{
			TTY: s.TTY, Color: s.Color, Total: plan.Load.Duration(), Thresholds: ev.Results,
		}))
	}
	obs = append(obs, s.healthWatch()) // warns live when the generator falls behind (health.go)
	obs = append(obs, s.observers...)
	// From here the load may start (set before the signal goroutine starts,
	// which reads it in finish).
	s.loadStarting = true
	s.interrupted = make(chan struct{})
	stopSignals := s.handleSignals(cancel)
	defer stopSignals()
	run := s.Engine.Run
	if s.Coordinator != nil {
		s.Coordinator.OnStart = s.setMeasureStart
		run = s.Coordinator.Run
	}
	if s.sc.Search != nil {
		return s.search(ctx, run) // search.go
	}
	res, err := run(ctx, plan, obs...)
	var pe *cluster.PreflightError
	switch {
	case err != nil && errors.Is(context.Cause(ctx), errInterrupted):
		// Ctrl-C while the agents were being prepared: nothing was sent.
		return s.fail(verdict.Interrupted, errors.New("interrupted before the load started; nothing was sent"))
	case errors.As(err, &pe):
		return s.failAgents(pe)
	}
	if err != nil {
		return s.fail(verdict.Invalid, err)
	}
	x.afterRun(ctx, res) // final SLI queries, before the verdict
	if res.Stopped == nil && errors.Is(context.Cause(ctx), errInterrupted) {
		res.Stopped = errInterrupted // interrupted after the load, during the SLI wait
	}
	// A run stopped by a signal or a bug is partial; one stopped by a
	// threshold has its verdict and is not.
	partial := res.Stopped != nil && !errors.Is(res.Stopped, errAborted)
	return s.finish(s.judge(res), res.Final, partial)
}

func (s *session) setMeasureStart(t time.Time) { s.measureStart.Store(&t) }

// startedMeasuring is when the measurement began; zero before the run.
func (s *session) startedMeasuring() time.Time {
	if t := s.measureStart.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

// handleSignals turns the first SIGINT/SIGTERM into a graceful stop and the
// second into an immediate exit with what is in memory.
func (s *session) handleSignals(cancel context.CancelCauseFunc) (stop func()) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	exit := s.exit
	if exit == nil {
		exit = os.Exit
	}
	go func() {
		select {
		case <-ch:
		case <-done:
			return
		}
		fmt.Fprintln(s.Stderr, "\nloadgate: interrupted: stopping, writing reports (again to exit at once)")
		cancel(errInterrupted)
		close(s.interrupted)
		select {
		case <-ch:
		case <-done:
			return
		}
		v := &verdict.Causes{}
		v.Add(verdict.Interrupted, "interrupted twice: reports hold what was measured until then")
		exit(s.finish(v, s.latest.Load(), true))
	}()
	return func() { signal.Stop(ch); close(done) }
}

// judge decides the verdict of a completed or stopped run.
func (s *session) judge(res *engine.Result) *verdict.Causes {
	v := &verdict.Causes{}
	var pe *engine.PanicError
	if errors.As(res.Stopped, &pe) {
		fmt.Fprintf(s.Stderr, "loadgate: internal error: %v\n%s", pe, pe.Stack)
		v.Add(verdict.Internal, "internal error: "+pe.Error()+"; the report holds what was measured until then")
	}
	if errors.Is(res.Stopped, errInterrupted) {
		v.Add(verdict.Interrupted, "interrupted by signal; the run is partial")
	}
	if r := s.abortRes.Load(); r != nil && errors.Is(res.Stopped, errAborted) {
		v.Add(verdict.Failed, fmt.Sprintf("aborted early: %s %s failed live", r.Key, r.Threshold.Expr))
	}
	for _, r := range s.eval.Results() {
		if r.Skipped || r.Passed {
			continue
		}
		st := verdict.Failed
		what := "failed"
		switch {
		case r.Threshold.Severity == slo.Warn && r.Undecided:
			st, what = verdict.Passed, "undecided (warning)"
		case r.Undecided && r.Threshold.Undecided == slo.Inconclusive:
			// Its interval straddles the limit: the measurement cannot
			// tell (docs/thresholds.md, "Confidence").
			st, what = verdict.Inconclusive, "undecided"
		case r.Undecided && r.Threshold.Undecided == slo.UndecidedPasses:
			st, what = verdict.Passed, "undecided (counted as passed)"
		case r.Undecided:
			what = "undecided (counted as failed)"
		case r.Threshold.Severity == slo.Warn:
			st, what = verdict.Passed, "failed (warning)"
		}
		v.Add(st, fmt.Sprintf("threshold %s %q %s: %s%s", r.Key, r.Threshold.Expr, what, report.ThresholdDetail(r), s.noSlotNote(r, res.Final)))
	}
	if res.Exhausted != nil {
		// The plan ran out of data (a unique feeder): the run is complete
		// but shorter than planned; the thresholds decide pass or fail.
		v.Add(verdict.Passed, res.Exhausted.Error()+"; the run ended early")
	}
	for _, h := range s.healthProblems(res.Final) {
		v.Add(verdict.Inconclusive, h)
	}
	s.judgeAgents(v)
	return v
}

// fail ends a run that never started with status st and err as its reason.
func (s *session) fail(st verdict.Status, err error) int {
	fmt.Fprintf(s.Stderr, "loadgate: %v\n", err)
	v := &verdict.Causes{}
	v.Add(st, err.Error())
	s.notStarted = true
	return s.finish(v, nil, false)
}

// failPreflight ends a run that preflight stopped: every reason on stderr,
// then the reports; nothing was sent.
func (s *session) failPreflight(v *verdict.Causes) int {
	for _, r := range v.Reasons() {
		fmt.Fprintf(s.Stderr, "loadgate: %s\n", r)
	}
	fmt.Fprintln(s.Stderr, "loadgate: nothing was sent")
	s.notStarted = true
	return s.finish(v, nil, false)
}

// reportRun is what every report of the run (the partial ones too) is
// built from: the scenario, the times, the timeline, the run's id and the
// warnings known before it, with final as the last snapshot.
func (s *session) reportRun(final *engine.Snapshot) report.Run {
	run := report.Run{
		Tool: Tool, Version: s.Version,
		Scenario: report.Scenario{Name: s.sc.Name, Path: s.sc.Path, SHA256: s.sc.SHA256},
		Plan:     &s.sc.Plan, Started: s.started, MeasureStart: s.startedMeasuring(), Ended: time.Now(), Final: final,
		Timeline: s.timeline, Redactor: report.NewRedactor(s.sc.Secrets),
		Aborted: s.abortRes.Load() != nil,
		// The warnings known before the run (tls, --baseline) are in
		// every report, the partial ones too.
		Warnings: slices.Clone(s.Warnings),
		RunID:    s.runID,
	}
	if s.eval != nil {
		run.Thresholds = s.eval.Results()
	}
	if s.Coordinator == nil {
		// This process is the generator (generator.process); a
		// coordinator only merges what its agents measured.
		u := procstat.Read()
		run.Process = &u
	}
	return run
}

// finish writes every report once, prints the end summary and returns the
// exit code.
func (s *session) finish(v *verdict.Causes, final *engine.Snapshot, partial bool) int {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.written {
		return s.code
	}
	s.partials.stop()
	run := s.reportRun(final)
	run.TLSInsecure = s.sc.TLSInsecure()
	run.NotStarted = s.notStarted || !s.loadStarting
	if s.eval != nil && !run.NotStarted { // not run: one reason for all, the status's
		run.Warnings = append(run.Warnings, skippedWarnings(run.Thresholds)...)
	}
	run.Warnings = append(run.Warnings, s.loadWarnings(final)...)
	run.Agents = agentReports(s.Coordinator)
	if s.capacity != nil {
		// A search: the report shows the step at the capacity, with every
		// step in its capacity section (docs/capacity.md).
		run.Capacity, run.Timeline, run.Thresholds = s.capacity, nil, nil
		if s.capacityAt != nil {
			run.Plan, run.Thresholds = s.capacityAt.Plan, s.capacityAt.Results
		}
	}
	run.Partial = partial || v.Has(verdict.Interrupted) || (final != nil && !final.Final)
	w := Writer{Stdout: s.Stdout, Stderr: s.Stderr, Prefix: "loadgate", Color: s.Color, ConsoleCode: s.ConsoleCode}
	errs := w.Write(s.Outputs, summarize(run, v), func(reason string) *report.Summary {
		v.Add(verdict.IOError, reason)
		return summarize(run, v)
	})
	for i, o := range s.Outputs {
		if o.Path != "-" {
			s.partials.written(o, errs[i])
		}
	}
	s.written, s.code = true, v.Status().Code()
	return s.code
}

// summarize is the report of run with the verdict v.
func summarize(run report.Run, v *verdict.Causes) *report.Summary {
	run.Status, run.Reasons = v.Status(), v.Reasons()
	return report.Build(run)
}

// skippedWarnings lists the thresholds that were skipped, with the reason, so
// that a baseline threshold that judged nothing is never silent.
func skippedWarnings(rs []slo.Result) []string {
	var out []string
	for _, r := range rs {
		if r.Skipped {
			out = append(out, fmt.Sprintf("threshold %s %q skipped: %s", r.Key, r.Threshold.Expr, r.Reason))
		}
	}
	return out
}
