package report

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/loadgate/loadgate/capacity"
	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/histogram"
	"github.com/loadgate/loadgate/stats"
)

// Capacity is the capacity section of a search's report (docs/capacity.md):
// the answer, the search's settings, and every step as it ran.
type Capacity struct {
	// Capacity is the highest offered rate at which the SLO held (0: none).
	Capacity float64 `json:"capacity"`
	// AtLeast says Capacity is a lower bound only: max held, the
	// generator could not go further, or the search stopped early.
	AtLeast bool `json:"at_least"`
	// FirstFailing is the lowest rate at which the SLO broke; absent when
	// none broke.
	FirstFailing *float64 `json:"first_failing,omitempty"`
	// Precision is first_failing / capacity - 1, reached; absent without
	// both.
	Precision *float64 `json:"precision,omitempty"`
	// LimitedAt is the rate the generator could not hold, with why;
	// absent when it held every rate it tried.
	LimitedAt *float64 `json:"limited_at,omitempty"`
	LimitedBy string   `json:"limited_by,omitempty"`
	// Requirement is the capacity gate (require.min_rate), absent without
	// one; Met is absent when the search could not tell.
	Requirement *Requirement `json:"requirement,omitempty"`
	// Ended says what ended the search, in words.
	Ended  string         `json:"ended"`
	Search SearchSettings `json:"search"`
	Steps  []CapacityStep `json:"steps"`
}

// Requirement is a capacity gate and its outcome.
type Requirement struct {
	MinRate float64 `json:"min_rate"`
	Met     *bool   `json:"met,omitempty"`
}

// SearchSettings are the search's configuration, defaults filled in.
type SearchSettings struct {
	From      float64 `json:"from"`
	Max       float64 `json:"max"`
	Precision float64 `json:"precision"`
	StepS     float64 `json:"step_s"`
	WarmupS   float64 `json:"warmup_s"`
	CooldownS float64 `json:"cooldown_s"`
	BudgetS   float64 `json:"budget_s,omitempty"`
}

// CapacityStep is one step: the offered rate, what was achieved, the
// latency of the measurement (http_req_duration of every request, from
// the intended time) with 95% intervals, the error rate, and the verdict
// with the thresholds that broke.
type CapacityStep struct {
	Index     int     `json:"index"`
	Rate      float64 `json:"rate"`
	Achieved  float64 `json:"achieved"`
	MeasuredS float64 `json:"measured_s"`
	Requests  int64   `json:"requests"`
	P50       float64 `json:"p50"`
	P95       float64 `json:"p95"`
	P99       float64 `json:"p99"`
	// CI95 are the 95% intervals of p50, p95 and p99 ([lo, hi], null for
	// a side too few requests cannot bound).
	CI95      map[string][]*float64 `json:"ci95,omitempty"`
	ErrorRate float64               `json:"error_rate"`
	// Verdict: pass, fail, undecided, generator-limited.
	Verdict string   `json:"verdict"`
	Broken  []string `json:"broken,omitempty"`
	Health  []string `json:"health,omitempty"`
	Aborted bool     `json:"aborted,omitempty"`
	// StartedAt is the step's start (UTC RFC 3339); ElapsedS its wall time,
	// warm-up and drain included.
	StartedAt string  `json:"started_at"`
	ElapsedS  float64 `json:"elapsed_s"`
}

// CapacityOf is the capacity section of a search's outcome; red scrubs
// secrets from threshold text (nil scrubs nothing).
func CapacityOf(o *capacity.Outcome, red *Redactor) *Capacity {
	a := o.Answer
	c := &Capacity{Capacity: a.Capacity, AtLeast: a.AtLeast, Ended: a.Why, Steps: []CapacityStep{},
		Search: SearchSettings{From: o.Config.From, Max: o.Config.Max, Precision: o.Config.Precision,
			StepS: o.Timing.Step.Seconds(), WarmupS: o.Timing.Warmup.Seconds(), CooldownS: o.Timing.Cooldown.Seconds(), BudgetS: o.Timing.Budget.Seconds()}}
	if a.FirstFailing > 0 {
		c.FirstFailing = ptr(a.FirstFailing)
	}
	if a.Capacity > 0 && a.FirstFailing > 0 {
		c.Precision = ptr(round(a.Precision, 4))
	}
	if o.Config.MinRate > 0 {
		c.Requirement = &Requirement{MinRate: o.Config.MinRate, Met: a.Met}
	}
	for _, st := range o.Steps {
		cs := stepOf(st, red)
		if st.Verdict == capacity.GeneratorLow && a.LimitedAt == st.Rate {
			c.LimitedAt, c.LimitedBy = ptr(st.Rate), strings.Join(cs.Health, "; ")
		}
		c.Steps = append(c.Steps, cs)
	}
	return c
}

func stepOf(st capacity.StepResult, red *Redactor) CapacityStep {
	cs := CapacityStep{Index: st.Index, Rate: st.Rate, Verdict: st.Verdict.String(), Aborted: st.Aborted,
		StartedAt: rfc3339(st.Started), ElapsedS: round(st.Elapsed.Seconds(), 3), MeasuredS: round(st.Measuring.Seconds(), 3)}
	if m := st.Measured; m != nil && m.All != nil {
		if st.Measuring > 0 {
			cs.Achieved = round(float64(m.Started)/st.Measuring.Seconds(), 1)
		}
		cs.Requests = m.All.Requests
		if m.All.Requests > 0 {
			cs.ErrorRate = round(float64(m.All.Failed)/float64(m.All.Requests), 6)
		}
		if h := m.All.Duration; h != nil && h.Count() > 0 {
			cs.P50, cs.P95, cs.P99 = quantileMS(h, 0.50), quantileMS(h, 0.95), quantileMS(h, 0.99)
			cs.CI95 = map[string][]*float64{}
			for _, q := range []struct {
				name string
				q    float64
			}{{"p50", 0.50}, {"p95", 0.95}, {"p99", 0.99}} {
				if iv, ok := stats.Quantile(h, q.q, 0.95); ok {
					cs.CI95[q.name] = ciOf(iv)
				}
			}
		}
	}
	for _, r := range st.Results {
		if r.Skipped || r.Passed || r.Pending {
			continue
		}
		what := "failed"
		if r.Undecided {
			what = "undecided"
		}
		cs.Broken = append(cs.Broken, red.String(fmt.Sprintf("%s %s %s: %s", r.Key, r.Threshold.Expr, what, ThresholdDetail(r))))
	}
	for _, h := range st.Health {
		cs.Health = append(cs.Health, h.Message)
	}
	return cs
}

func quantileMS(h *histogram.Histogram, q float64) float64 {
	return round(float64(h.Quantile(q))/float64(time.Millisecond), 3)
}

// CapacityRun is the report.Run of a search: the measurement of the step
// at the capacity (the highest passing one; the last step when none
// passed) stands for the run's metrics and thresholds, so that every
// writer shows the service at its capacity; the section holds every step.
func CapacityRun(o *capacity.Outcome) (final *engine.Snapshot, step *capacity.StepResult) {
	var at *capacity.StepResult
	for i := range o.Steps {
		st := &o.Steps[i]
		if st.Measured == nil {
			continue
		}
		if st.Verdict == capacity.Pass && (at == nil || at.Verdict != capacity.Pass || st.Rate > at.Rate) {
			at = st
		} else if at == nil || at.Verdict != capacity.Pass {
			at = st
		}
	}
	if at == nil {
		return nil, nil
	}
	return &engine.Snapshot{Seq: 1, Interval: at.Measured, Total: at.Measured, Final: true}, at
}

// writeCapacity writes the steps of a search as a table and its answer in
// one line.
func writeCapacity(w *bufio.Writer, s *Summary) {
	c := s.Capacity
	if c == nil {
		return
	}
	fmt.Fprintf(w, "  capacity search: %s/s .. %s/s, precision %s, steps of %s (warm-up %s)\n",
		fmtNum(c.Search.From), fmtNum(c.Search.Max), fmtShare(c.Search.Precision), fmtSeconds(c.Search.StepS), fmtSeconds(c.Search.WarmupS))
	if len(c.Steps) > 0 {
		fmt.Fprintf(w, "    %4s  %10s  %10s  %9s  %9s  %9s  %7s  %s\n", "STEP", "RATE", "ACHIEVED", "P50", "P95", "P99", "ERRORS", "VERDICT")
		for _, st := range c.Steps {
			verdict := st.Verdict
			if st.Aborted {
				verdict += " (aborted early)"
			}
			line := fmt.Sprintf("    %4d  %8s/s  %8s/s  %9s  %9s  %9s  %7s  %s", st.Index+1, fmtNum(st.Rate), fmtNum(st.Achieved),
				fmtMS(st.P50), fmtMS(st.P95), fmtMS(st.P99), fmtShare(st.ErrorRate), verdict)
			if len(st.Broken) > 0 {
				line += ": " + strings.Join(st.Broken, "; ")
			}
			if len(st.Health) > 0 {
				line += ": " + strings.Join(st.Health, "; ")
			}
			w.WriteString(strings.TrimRight(line, " ") + "\n")
		}
	}
	fmt.Fprintf(w, "  CAPACITY: %s\n\n", CapacityAnswer(c))
}

// CapacityAnswer is the search's answer in one line.
func CapacityAnswer(c *Capacity) string {
	var b strings.Builder
	switch {
	case c.Capacity == 0 && c.FirstFailing != nil:
		fmt.Fprintf(&b, "the SLO does not hold even at %s/s", fmtNum(*c.FirstFailing))
	case c.Capacity == 0:
		b.WriteString("unknown: no step decided")
	case c.LimitedAt != nil:
		fmt.Fprintf(&b, "at least %s/s, limited by the generator at %s/s (%s)", fmtNum(c.Capacity), fmtNum(*c.LimitedAt), c.LimitedBy)
	case c.AtLeast:
		fmt.Fprintf(&b, "at least %s/s", fmtNum(c.Capacity))
	default:
		fmt.Fprintf(&b, "%s/s (the SLO breaks at %s/s; within %s)", fmtNum(c.Capacity), fmtNum(*c.FirstFailing), fmtShare(*c.Precision))
	}
	if r := c.Requirement; r != nil {
		switch {
		case r.Met == nil:
			fmt.Fprintf(&b, "; requirement %s/s: not decided", fmtNum(r.MinRate))
		case *r.Met:
			fmt.Fprintf(&b, "; requirement %s/s: met", fmtNum(r.MinRate))
		default:
			fmt.Fprintf(&b, "; requirement %s/s: NOT met", fmtNum(r.MinRate))
		}
	}
	if c.Ended != "" {
		b.WriteString(" — " + c.Ended)
	}
	return b.String()
}

func fmtSeconds(s float64) string { return strconv.FormatFloat(s, 'f', -1, 64) + "s" }

// capacityCases are the JUnit cases of a search: one per step, and one for
// the requirement.
func capacityCases(c *Capacity) []junitCase {
	if c == nil {
		return nil
	}
	var out []junitCase
	for _, st := range c.Steps {
		jc := junitCase{Name: xmlText(fmt.Sprintf("step %d at %s/s", st.Index+1, fmtNum(st.Rate))), Classname: junitCapacityClass,
			Time: junitSeconds(st.ElapsedS)}
		body := fmt.Sprintf("offered %s/s, achieved %s/s, p50 %s, p95 %s, p99 %s, errors %s: %s\n",
			fmtNum(st.Rate), fmtNum(st.Achieved), fmtMS(st.P50), fmtMS(st.P95), fmtMS(st.P99), fmtShare(st.ErrorRate), st.Verdict)
		for _, b := range append(append([]string{}, st.Broken...), st.Health...) {
			body += "- " + b + "\n"
		}
		switch st.Verdict {
		case capacity.Fail.String():
			// Past the capacity a step is expected to break: that is the
			// search's finding, not a failure of the run; the requirement
			// case carries the gate.
			jc.SystemOut = newText(body)
		case capacity.Pass.String():
			jc.SystemOut = newText(body)
		default:
			jc.Skipped = &junitMessage{Message: xmlText(st.Verdict), Text: newText(body).Text}
		}
		out = append(out, jc)
	}
	if r := c.Requirement; r != nil {
		jc := junitCase{Name: xmlText(fmt.Sprintf("capacity >= %s/s", fmtNum(r.MinRate))), Classname: junitCapacityClass, Time: "0"}
		answer := CapacityAnswer(c)
		switch {
		case r.Met == nil:
			jc.Skipped = &junitMessage{Message: xmlText("not decided: " + answer)}
		case *r.Met:
			jc.SystemOut = newText(answer + "\n")
		default:
			jc.Failure = &junitMessage{Message: xmlText(answer), Type: "capacity"}
		}
		out = append(out, jc)
	}
	return out
}
