package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/loadgate/loadgate/report"
	"github.com/loadgate/loadgate/slo"
)

// partialEvery is how often the JSON so far is rewritten during a run
// (docs/reliability.md, row 18: a SIGKILL or an OOM kill loses at most this much).
const partialEvery = 10 * time.Second

// partials rewrites <path>.partial for every -o json=PATH (PATH not "-")
// every partialEvery while the run goes on, so that a run killed without a
// chance to write its reports still leaves one. Each file is replaced
// atomically (report.WriteFileAtomic): a reader sees the previous complete
// version or the next one.
//
// The writer is its own goroutine, woken by a ticker. It reads the
// session's latest snapshot (an atomic pointer the collector stores, the
// snapshot itself immutable), the timeline and the evaluator's results,
// which may all be read from any goroutine; it never blocks the collector,
// and a slow disk only delays the next rewrite.
//
// A partial report has "partial": true and the status the run would have if
// it ended now (failed thresholds so far, generator health so far), with
// "run in progress" as its first reason. The final report writing stops the
// writer (stop) and removes each .partial once the report it stands for is
// written (written).
type partials struct {
	s     *session
	paths []string // the final json paths

	stopOnce sync.Once
	quit     chan struct{}
	done     chan struct{}
}

// startPartials starts the writer when the run has a json report file, and
// returns nil (a valid, inert *partials) otherwise.
func (s *session) startPartials() *partials {
	p := &partials{s: s, quit: make(chan struct{}), done: make(chan struct{})}
	for _, o := range s.outputs {
		if o.format == "json" && o.path != "-" {
			p.paths = append(p.paths, o.path)
		}
	}
	if len(p.paths) == 0 {
		return nil
	}
	every := partialEvery
	// A test seam: the CLI tests cannot wait 10 s for each case.
	if d, err := time.ParseDuration(os.Getenv("LOADGATE_DEBUG_PARTIAL_EVERY")); err == nil && d > 0 {
		every = d
	}
	go p.loop(every)
	return p
}

func (p *partials) loop(every time.Duration) {
	defer close(p.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			p.write()
		}
	}
}

// write rewrites every .partial from the latest snapshot. Errors go to
// stderr once per rewrite: the final report is what counts.
func (p *partials) write() {
	s := p.s
	defer func() {
		// A bug here must not end the run: the final report still counts.
		if r := recover(); r != nil {
			fmt.Fprintf(s.stderr, "loadgate: partial report: internal error: %v\n", r)
		}
	}()
	latest := s.latest.Load()
	if latest == nil {
		return // no interval yet
	}
	run := report.Run{
		Tool: "loadgate", Version: version,
		Scenario: report.Scenario{Name: s.sc.Name, Path: s.sc.Path, SHA256: s.sc.SHA256},
		Plan:     &s.sc.Plan, Started: s.started, MeasureStart: s.startedMeasuring(), Ended: time.Now(), Final: latest,
		Timeline: s.timeline, Redactor: report.NewRedactor(s.sc.Secrets),
		Partial: true, Aborted: s.abortRes.Load() != nil,
		// The warnings known before the run (tls, --baseline) are in
		// every report, the partial ones too.
		Warnings: slices.Clone(s.warnings),
		RunID:    s.runID,
	}
	v := &verdict{}
	v.add(exitPassed, fmt.Sprintf("run in progress: partial report at %s of the run; the final report replaces it", latest.Total.End.Round(time.Second)))
	if s.eval != nil {
		run.Thresholds = s.eval.Results()
		run.Warnings = append(run.Warnings, skippedWarnings(run.Thresholds)...)
		for _, r := range run.Thresholds {
			if r.Skipped || r.Pending || r.Passed {
				continue // pending: not decided yet, as live
			}
			code, what := exitFailed, "failed so far"
			if r.Threshold.Severity == slo.Warn {
				code, what = exitPassed, "failed so far (warning)"
			}
			v.add(code, fmt.Sprintf("threshold %s %q %s: %s", r.Key, r.Threshold.Expr, what, thresholdDetail(r)))
		}
	}
	for _, h := range s.healthProblems(latest) {
		v.add(exitInconclusive, h)
	}
	sum := s.summarize(run, v)
	for _, path := range p.paths {
		err := report.WriteFileAtomic(path+".partial", func(w io.Writer) error { return report.WriteJSON(w, sum) })
		if err != nil {
			fmt.Fprintf(s.stderr, "loadgate: partial report: %v\n", strings.TrimPrefix(err.Error(), "report: "))
		}
	}
}

// stop ends the writer and waits for it, so that no .partial is written
// after the final reports. It may be called more than once, and on nil.
func (p *partials) stop() {
	if p == nil {
		return
	}
	p.stopOnce.Do(func() { close(p.quit) })
	<-p.done
}

// written removes the .partial of o once its final json report was written
// (err nil). On error the .partial stays: it is then the best report left.
func (p *partials) written(o output, err error) {
	if p == nil || err != nil || o.format != "json" || o.path == "-" {
		return
	}
	if rmErr := os.Remove(o.path + ".partial"); rmErr != nil && !os.IsNotExist(rmErr) {
		fmt.Fprintf(p.s.stderr, "loadgate: cannot remove %s.partial: %v\n", o.path, rmErr)
	}
}
