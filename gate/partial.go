package gate

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/loadgate/loadgate/report"
	"github.com/loadgate/loadgate/slo"
	"github.com/loadgate/loadgate/verdict"
)

// partials rewrites <path>.partial for every json output (PATH not "-")
// every PartialEvery while the run goes on, so that a run killed without
// a chance to write its reports still leaves one (docs/reliability.md,
// docs/reports.md). Each file is replaced atomically
// (report.WriteFileAtomic): a reader sees the previous complete version or
// the next one.
//
// The writer is its own goroutine, woken by a ticker. It reads the run's
// latest snapshot (an atomic pointer the collector stores, the snapshot
// itself immutable), the timeline and the evaluator's results, which may
// all be read from any goroutine; it never blocks the collector, and a
// slow disk only delays the next rewrite.
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
	for _, o := range s.Outputs {
		if o.Format == "json" && o.Path != "-" {
			p.paths = append(p.paths, o.Path)
		}
	}
	if len(p.paths) == 0 {
		return nil
	}
	every := PartialEvery
	if s.partialEvery > 0 {
		every = s.partialEvery // a test's
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
			fmt.Fprintf(s.Stderr, "loadgate: partial report: internal error: %v\n", r)
		}
	}()
	latest := s.latest.Load()
	if latest == nil {
		return // no interval yet
	}
	run := s.reportRun(latest)
	run.Partial = true
	v := &verdict.Causes{}
	v.Add(verdict.Passed, fmt.Sprintf("run in progress: partial report at %s of the run; the final report replaces it", latest.Total.End.Round(time.Second)))
	if s.eval != nil {
		run.Warnings = append(run.Warnings, skippedWarnings(run.Thresholds)...)
		for _, r := range run.Thresholds {
			if r.Skipped || r.Pending || r.Passed {
				continue // pending: not decided yet, as live
			}
			st, what := verdict.Failed, "failed so far"
			if r.Threshold.Severity == slo.Warn {
				st, what = verdict.Passed, "failed so far (warning)"
			}
			v.Add(st, fmt.Sprintf("threshold %s %q %s: %s", r.Key, r.Threshold.Expr, what, report.ThresholdDetail(r)))
		}
	}
	for _, h := range s.healthProblems(latest) {
		v.Add(verdict.Inconclusive, h)
	}
	sum := summarize(run, v)
	for _, path := range p.paths {
		err := report.WriteFileAtomic(path+".partial", func(w io.Writer) error { return report.WriteJSON(w, sum) })
		if err != nil {
			fmt.Fprintf(s.Stderr, "loadgate: partial report: %v\n", strings.TrimPrefix(err.Error(), "report: "))
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
func (p *partials) written(o Output, err error) {
	if p == nil || err != nil || o.Format != "json" || o.Path == "-" {
		return
	}
	if rmErr := os.Remove(o.Path + ".partial"); rmErr != nil && !os.IsNotExist(rmErr) {
		fmt.Fprintf(p.s.Stderr, "loadgate: cannot remove %s.partial: %v\n", o.Path, rmErr)
	}
}
