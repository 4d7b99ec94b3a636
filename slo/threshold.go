package slo

import (
	"fmt"
	"time"

	"github.com/loadgate/loadgate/engine"
)

// Severity says whether a failed threshold fails the run.
type Severity uint8

const (
	// Fail makes the run fail (exit 1) when the threshold fails.
	Fail Severity = iota
	// Warn reports the failure and leaves the exit code alone.
	Warn
)

func (s Severity) String() string {
	if s == Warn {
		return "warn"
	}
	return "fail"
}

// Threshold is one expression on one selected metric, as the user wrote it,
// with its options. Expr has already been checked with ParseExpr.
type Threshold struct {
	Metric      string       // e.g. http_req_duration
	Tags        []engine.Tag // e.g. step:checkout
	Expr        string       // e.g. p(95) < 300ms
	AbortOnFail bool
	Delay       time.Duration // no abort before this much of the run has passed
	Window      time.Duration // 0: whole run; else sliding window
	Severity    Severity
	MinSamples  int64
	// Confidence, when above 0, judges a percentile or a rate by its
	// confidence interval at that level (0.95): it passes when the whole
	// interval is on the passing side of the limit, fails when the whole
	// interval is on the failing side, and is undecided otherwise
	// (docs/thresholds.md, "Confidence"). Whole-run thresholds only.
	Confidence float64
	// Undecided is what an undecided threshold makes of the run.
	Undecided Undecided
}

// Undecided is the consequence of a threshold that its confidence
// interval leaves undecided at the end of a run.
type Undecided uint8

const (
	// Inconclusive makes the run inconclusive (exit 4): the measurement
	// cannot tell, so it cannot gate.
	Inconclusive Undecided = iota
	// UndecidedPasses counts it as passed.
	UndecidedPasses
	// UndecidedFails counts it as failed.
	UndecidedFails
)

func (u Undecided) String() string {
	return [...]string{"inconclusive", "pass", "fail"}[u]
}

// SyntaxError is an error at a byte offset of an expression or selector, so
// that callers can point at the bad token (file:line:col and a caret).
type SyntaxError struct {
	Offset int    // byte offset into the parsed text
	Msg    string // what was expected, e.g. "want p(N), avg, min, max, med"
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("col %d: %s", e.Offset+1, e.Msg)
}

// Result is the state of one threshold: live while the run goes on, final
// after it. Values are in the metric's report unit (ms for trends, a 0..1
// share for rates, events or bytes for counters, per second for counter
// rates).
type Result struct {
	Threshold Threshold
	Key       string  // the selector as reports name it: metric{k:v}
	Observed  float64 // the aggregation's value on the data evaluated
	Limit     float64 // the right-hand side, resolved
	Unit      string  // "ms", "" (share or count), "/s"
	Passed    bool
	// NoData is set when the metric had no samples; the threshold then fails
	// with Reason "no data".
	NoData bool
	// Reason explains a failure or skip in words ("no data", "window 40s-43s
	// breached", "baseline has no http_req_duration{step:x}"), for people;
	// Why says the same as a code, for programs.
	Reason string
	Why    Why
	// WindowEnd is the end (offset from the run's start) of the first
	// window that breached a windowed threshold; 0 otherwise.
	WindowEnd time.Duration
	// Skipped thresholds (e.g. a baseline without the metric) neither pass
	// nor fail the run.
	Skipped bool
	// Pending is set while no decision has been made (live, before
	// min_samples or the first data); it is never set on a final Result.
	Pending bool
	// Aborted is set on the threshold whose live failure stopped the run.
	Aborted bool
	// Failed is whether it has ever failed; FirstFailedAt is then the offset
	// from the run's start of the first failing evaluation.
	Failed        bool
	FirstFailedAt time.Duration
	// Evaluations counts live evaluations (one per interval with data).
	Evaluations int
	// CI is the confidence interval of Observed when the threshold has a
	// confidence (nil otherwise, or without data).
	CI *Bounds
	// Undecided is set on a final result whose interval straddled the
	// limit: neither passed nor failed (Threshold.Undecided says what
	// the run makes of it). ToDecide is then the estimated number of
	// samples more that would likely decide it, were the data to go on as
	// observed; 0 when none would (the observed value is on the limit).
	Undecided bool
	ToDecide  int64
}
