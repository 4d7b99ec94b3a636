package main

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
	"github.com/loadgate/loadgate/report"
	"github.com/loadgate/loadgate/scenarios"
	"github.com/loadgate/loadgate/slo"
)

// Why a run was stopped early; the context's cause tells them apart.
var (
	errInterrupted = errors.New("interrupted by signal")
	errAborted     = errors.New("aborted by threshold")
)

// preflightTimeout bounds the connection check of each target.
const preflightTimeout = 5 * time.Second

// session is one run of a scenario from the CLI: it owns the observers, the
// signal handling and the final verdict, and writes the reports exactly once
// (from the normal end, or from a second signal).
type session struct {
	sc        *scenarios.Scenario
	outputs   []output
	quiet     bool
	color     bool
	preflight bool
	eng       *engine.Engine
	stdout    io.Writer
	stderr    io.Writer
	baseline  baselineFunc // --baseline; nil without it
	metrics   metricsFlags // --metrics-addr, --metrics-linger (metrics.go)
	failCode  failCode     // --exit-code-on-fail: the STATUS line on stdout says it
	// warnings are known before the run (tls.insecure_skip_verify) and go
	// into every report.
	warnings []string

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
	// coord runs the plan on agents instead of eng (--agents); a lost
	// agent makes the run inconclusive unless tolerateLoss.
	coord        *cluster.Coordinator
	tolerateLoss bool
	// interrupted is closed by the first SIGINT/SIGTERM.
	interrupted chan struct{}
	// notStarted is set when the load never started (fail, failAgents,
	// failPreflight), and implied before loadStarting (every end before the
	// run: a failed preflight, a bad --metrics-addr, a bug); the reports show the
	// thresholds as not run (docs/reports.md, "A run that never started").
	notStarted   bool
	loadStarting bool
	// runID is in every report of the run, the partial ones too, so that
	// merge can refuse one run given twice (docs/reports.md).
	runID string
	// capacity is the outcome of a capacity search (capacity.go), nil for
	// a run; capacityAt the step whose measurement the report shows.
	capacity   *capacity.Outcome
	capacityAt *capacity.StepResult
	// step is the step a search is running, read by /metrics.
	step atomic.Pointer[stepState]
}

// execute runs the session's scenario and returns an exitError with the
// verdict's code.
func (s *session) execute() (err error) {
	s.started = time.Now()
	s.runID = report.NewRunID()
	plan := &s.sc.Plan
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(s.stderr, "loadgate: internal error: %v\n", p)
			v := &verdict{}
			v.add(exitInternal, fmt.Sprintf("internal error: %v", p))
			err = s.finish(v, s.latest.Load(), true)
		}
	}()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	ev, err := slo.New(plan, s.sc.Thresholds, slo.Options{Abort: func(r slo.Result) {
		s.abortRes.Store(&r)
		cancel(errAborted)
	}, Baseline: s.baseline})
	if err != nil {
		return s.fail(exitInvalid, err)
	}
	s.eval = ev
	q, names, err := s.sliQuerier() // metrics.go
	if err != nil {
		return s.fail(exitInvalid, err)
	}
	if s.preflight {
		if v := s.preflightCheck(ctx, plan, q, names); v != nil { // health.go
			return s.failPreflight(v)
		}
	}
	x, err := s.startExtras(q, names) // /metrics and Prometheus SLIs (metrics.go)
	if err != nil {
		return s.fail(exitInvalid, err)
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
	if !s.quiet {
		obs = append(obs, report.NewProgress(s.stderr, plan, report.ProgressOptions{
			TTY: isTerminal(s.stderr), Color: s.color, Total: plan.Load.Duration(), Thresholds: ev.Results,
		}))
	}
	obs = append(obs, s.healthWatch()) // warns live when the generator falls behind (health.go)
	if os.Getenv("LOADGATE_DEBUG_PANIC") == "observer" {
		// A test seam for the exit-70 path: a bug in an observer.
		obs = append(obs, engine.ObserverFunc(func(sn *engine.Snapshot) {
			if sn.Seq == 2 {
				panic("LOADGATE_DEBUG_PANIC")
			}
		}))
	}
	// From here the load may start (set before the signal goroutine starts,
	// which reads it in finish).
	s.loadStarting = true
	s.interrupted = make(chan struct{})
	stopSignals := s.handleSignals(cancel)
	defer stopSignals()
	run := s.eng.Run
	if s.coord != nil {
		s.coord.OnStart = s.setMeasureStart
		run = s.coord.Run
	}
	if s.sc.Search != nil {
		return s.search(ctx, run) // capacity.go
	}
	res, err := run(ctx, plan, obs...)
	var pe *cluster.PreflightError
	switch {
	case err != nil && errors.Is(context.Cause(ctx), errInterrupted):
		// Ctrl-C while the agents were being prepared: nothing was sent.
		return s.fail(exitInterrupted, errors.New("interrupted before the load started; nothing was sent"))
	case errors.As(err, &pe):
		return s.failAgents(pe)
	}
	if err != nil {
		return s.fail(exitInvalid, err)
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
	go func() {
		select {
		case <-ch:
		case <-done:
			return
		}
		fmt.Fprintln(s.stderr, "\nloadgate: interrupted: stopping, writing reports (again to exit at once)")
		cancel(errInterrupted)
		close(s.interrupted)
		select {
		case <-ch:
		case <-done:
			return
		}
		v := &verdict{}
		v.add(exitInterrupted, "interrupted twice: reports hold what was measured until then")
		err := s.finish(v, s.latest.Load(), true)
		os.Exit(exitCode(err))
	}()
	return func() { signal.Stop(ch); close(done) }
}

// judge decides the verdict of a completed or stopped run.
func (s *session) judge(res *engine.Result) *verdict {
	v := &verdict{}
	var pe *engine.PanicError
	if errors.As(res.Stopped, &pe) {
		fmt.Fprintf(s.stderr, "loadgate: internal error: %v\n%s", pe, pe.Stack)
		v.add(exitInternal, "internal error: "+pe.Error()+"; the report holds what was measured until then")
	}
	if errors.Is(res.Stopped, errInterrupted) {
		v.add(exitInterrupted, "interrupted by signal; the run is partial")
	}
	if r := s.abortRes.Load(); r != nil && errors.Is(res.Stopped, errAborted) {
		v.add(exitFailed, fmt.Sprintf("aborted early: %s %s failed live", r.Key, r.Threshold.Expr))
	}
	for _, r := range s.eval.Results() {
		if r.Skipped || r.Passed {
			continue
		}
		code := exitFailed
		what := "failed"
		switch {
		case r.Threshold.Severity == slo.Warn && r.Undecided:
			code, what = exitPassed, "undecided (warning)"
		case r.Undecided && r.Threshold.Undecided == slo.Inconclusive:
			// Its interval straddles the limit: the measurement cannot
			// tell (docs/thresholds.md, "Confidence").
			code, what = exitInconclusive, "undecided"
		case r.Undecided && r.Threshold.Undecided == slo.UndecidedPasses:
			code, what = exitPassed, "undecided (counted as passed)"
		case r.Undecided:
			what = "undecided (counted as failed)"
		case r.Threshold.Severity == slo.Warn:
			code, what = exitPassed, "failed (warning)"
		}
		v.add(code, fmt.Sprintf("threshold %s %q %s: %s%s", r.Key, r.Threshold.Expr, what, thresholdDetail(r), s.noSlotNote(r, res.Final)))
	}
	if res.Exhausted != nil {
		// The plan ran out of data (a unique feeder): the run is complete
		// but shorter than planned; the thresholds decide pass or fail.
		v.add(exitPassed, res.Exhausted.Error()+"; the run ended early")
	}
	for _, h := range s.healthProblems(res.Final) {
		v.add(exitInconclusive, h)
	}
	s.judgeAgents(v)
	return v
}

// thresholdDetail says why r failed, in the words of the reports: each
// value once, in a human unit (report.ThresholdDetail, docs/reports.md).
func thresholdDetail(r slo.Result) string { return report.ThresholdDetail(r) }

// fail ends a run that never started with code and err as its reason.
func (s *session) fail(code int, err error) error {
	fmt.Fprintf(s.stderr, "loadgate: %v\n", err)
	v := &verdict{}
	v.add(code, err.Error())
	s.notStarted = true
	return s.finish(v, nil, false)
}

// failPreflight ends a run that preflight stopped: every reason on stderr,
// then the reports; nothing was sent.
func (s *session) failPreflight(v *verdict) error {
	for _, r := range v.reasons {
		fmt.Fprintf(s.stderr, "loadgate: %s\n", r)
	}
	fmt.Fprintln(s.stderr, "loadgate: nothing was sent")
	s.notStarted = true
	return s.finish(v, nil, false)
}

// finish writes every report once, prints the end summary and returns the
// exit code as an exitError.
func (s *session) finish(v *verdict, final *engine.Snapshot, partial bool) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.written {
		return &exitError{code: s.code, err: errReported}
	}
	s.partials.stop()
	run := report.Run{
		Tool: "loadgate", Version: version,
		Scenario: report.Scenario{Name: s.sc.Name, Path: s.sc.Path, SHA256: s.sc.SHA256},
		Plan:     &s.sc.Plan, Started: s.started, MeasureStart: s.startedMeasuring(), Ended: time.Now(), Final: final,
		Timeline: s.timeline, Redactor: report.NewRedactor(s.sc.Secrets),
		Warnings: slices.Clone(s.warnings), TLSInsecure: s.sc.TLSInsecure(),
		RunID: s.runID,
	}
	if s.eval != nil {
		run.Thresholds = s.eval.Results()
	}
	run.NotStarted = s.notStarted || !s.loadStarting
	if s.eval != nil && !run.NotStarted { // not run: one reason for all, the status's
		run.Warnings = append(run.Warnings, skippedWarnings(run.Thresholds)...)
	}
	run.Warnings = append(run.Warnings, s.loadWarnings(final)...)
	run.Aborted = s.abortRes.Load() != nil
	run.Agents = agentReports(s.coord)
	if s.capacity != nil {
		// A search: the report shows the step at the capacity, with every
		// step in its capacity section (docs/capacity.md).
		run.Capacity, run.Timeline, run.Thresholds = s.capacity, nil, nil
		if s.capacityAt != nil {
			run.Plan, run.Thresholds = s.capacityAt.Plan, s.capacityAt.Results
		}
	}
	run.Partial = partial || v.codes[exitInterrupted] || (final != nil && !final.Final)
	sum := s.summarize(run, v)
	s.writeReports(run, v, sum)
	s.written, s.code = true, v.code()
	return &exitError{code: s.code, err: errReported}
}

// writeReports writes every -o output. Files come first: a failed write
// makes the run an io_error (74), and every report must carry the final
// status, so the files already written are written again with it. The end
// summary goes to stdout unless an output is stdout itself (-o json=- must
// stay valid JSON); a closed stdout (| head) must not change the outcome, so
// stdout errors are ignored.
func (s *session) writeReports(run report.Run, v *verdict, sum *report.Summary) {
	write := func(o output) error {
		return report.WriteFileAtomic(o.path, func(w io.Writer) error { return writeFormat(w, o.format, sum, false) })
	}
	errs := make([]error, len(s.outputs))
	failed := false
	for i, o := range s.outputs {
		if o.path == "-" {
			continue
		}
		if errs[i] = write(o); errs[i] != nil {
			msg := writeFailure(o, errs[i]) // outputs.go
			fmt.Fprintf(s.stderr, "loadgate: %s\n", msg)
			v.add(exitIO, msg)
			failed = true
		}
	}
	if failed {
		*sum = *s.summarize(run, v)
		for i, o := range s.outputs {
			if o.path != "-" && errs[i] == nil {
				errs[i] = write(o)
			}
		}
	}
	toStdout := false
	for i, o := range s.outputs {
		if o.path == "-" {
			toStdout = true
			_ = writeStdout(s.stdout, o.format, sum, false, s.failCode)
			continue
		}
		s.partials.written(o, errs[i])
	}
	if !toStdout {
		_ = writeStdout(s.stdout, "text", sum, s.color, s.failCode)
	}
}

// writeStdout writes a report to stdout. The text summary there is the
// console's: its STATUS line says the code the process exits with, which
// --exit-code-on-fail may change (the files keep the report's exit_code,
// as `loadgate report` renders them again; docs/exit-codes.md).
func writeStdout(w io.Writer, format string, sum *report.Summary, color bool, fc failCode) error {
	if format != "text" {
		return writeFormat(w, format, sum, color)
	}
	return report.WriteTextWith(w, sum, report.TextOptions{Color: color, ExitCode: fc.of(sum.ExitCode)})
}

func (s *session) summarize(run report.Run, v *verdict) *report.Summary {
	run.Status, run.ExitCode, run.Reasons = v.status(), v.code(), v.reasons
	return report.Build(run)
}

func writeFormat(w io.Writer, format string, sum *report.Summary, color bool) error {
	switch format {
	case "text":
		return report.WriteText(w, sum, color)
	case "junit":
		return report.WriteJUnit(w, sum)
	case "html":
		return report.WriteHTML(w, sum)
	}
	return report.WriteJSON(w, sum)
}

// isTerminal reports whether w is a character device (a TTY).
func isTerminal(w io.Writer) bool {
	if rw, ok := w.(*redactWriter); ok {
		w = rw.w
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
