package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/loadgate/loadgate/engine"
)

// healthProblems lists why a run's measurement cannot be trusted under the
// scenario's generator tolerances (the generator block; RELIABILITY row 13).
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
	return &healthWatch{tol: s.sc.Generator, model: s.sc.Plan.Load.Model, w: s.stderr, tty: isTerminal(s.stderr), warned: map[string]bool{}}
}

// Observe checks the running totals against the previous snapshot's.
func (h *healthWatch) Observe(sn *engine.Snapshot) {
	prev := h.prev
	h.prev = sn.Total
	if sn.Final {
		return // the verdict reports it
	}
	for _, p := range h.tol.Live(h.model, prev, sn.Total) {
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

// preflightCheck is the whole preflight: the local open-files limit against
// the plan's peak in flight (RELIABILITY row 11), then every target.
func (s *session) preflightCheck(ctx context.Context, plan *engine.Plan) error {
	if err := engine.CheckFDLimit(plan); err != nil {
		return err
	}
	return s.eng.Preflight(ctx, plan, preflightTimeout)
}
