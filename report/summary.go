package report

import (
	"crypto/rand"
	"encoding/hex"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/loadgate/loadgate/capacity"
	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/internal/procstat"
	"github.com/loadgate/loadgate/slo"
	"github.com/loadgate/loadgate/verdict"
)

// Schema identifies the JSON document this package writes and reads.
const Schema = "loadgate.report/v1"

// Scenario identifies the scenario file a run came from.
type Scenario struct {
	Name   string `json:"name"`
	Path   string `json:"path,omitempty"`
	SHA256 string `json:"sha256"`
}

// Run is everything the CLI knows when a run has ended; Build turns it into
// a Summary. Every field may be zero: an invalid or preflight-failed run has
// no plan and no snapshot, and still gets a report with its status.
type Run struct {
	Tool, Version string
	Scenario      Scenario
	Plan          *engine.Plan
	// Started and Ended are the wall-clock bounds of the run (preflight,
	// grace and the post-run SLI wait included): started_at and ended_at,
	// and duration_s only of a run without a snapshot.
	Started, Ended time.Time
	// MeasureStart is the wall-clock time the engine's offsets count from
	// (the start of the measured run, after preflight): first_failed_at is
	// MeasureStart plus the threshold's offset. Zero means Started.
	MeasureStart time.Time
	// Final is the last snapshot; its Total covers the whole run, and its
	// span (Total.End) is the run's duration_s and the denominator of every
	// counter rate, as the threshold evaluator uses.
	Final *engine.Snapshot
	// Timeline holds the per-interval rows; nil reports an empty series.
	Timeline   *Timeline
	Thresholds []slo.Result
	// Status is the verdict (docs/exit-codes.md), decided by the run
	// (package gate); the report's exit_code is its code. Reasons are
	// every cause of it.
	Status  verdict.Status
	Reasons []string
	// Warnings are things a reader must know that do not change the verdict
	// (insecure_skip_verify, a failed warn-severity threshold, ...).
	Warnings []string
	Partial  bool
	Aborted  bool
	// NotStarted says the load never started (bad input found late, a
	// failed preflight, an interruption before the load): every threshold
	// is then reported skipped, with the reason "not run: " and the status
	// in words (docs/reports.md, "A run that never started"), never as a
	// failure for want of data.
	NotStarted bool
	// Extra lists sub-metrics to report besides the default ones (every
	// step, every flow, every threshold selector).
	Extra []*engine.Selection
	// Redactor scrubs secrets from free text; nil redacts nothing.
	Redactor *Redactor
	// TLSInsecure records that certificates were not verified
	// (tls.insecure_skip_verify): plan.tls_insecure in the report.
	TLSInsecure bool
	// Agents lists the agents of a distributed run, in the order the
	// coordinator dialed them; nil for a single-host run.
	Agents []Agent

	// RunID identifies the run: its partial reports and the final one
	// share it, so that merge can refuse one run given twice (NewRunID).
	RunID string
	// Capacity is the outcome of a capacity search, nil for a run; the
	// other fields then describe the step at the capacity (CapacityRun).
	Capacity *capacity.Outcome
	// Process is what the generator's process had used when the report
	// was written (generator.process); nil when it was not the generator
	// (a distributed run's coordinator) or is unknown.
	Process *procstat.Usage
}

// Summary is the report of one run: the JSON document of docs/reports.md, and the
// single value every writer renders. Field names are a public contract.
type Summary struct {
	Schema     string            `json:"schema"`
	Tool       string            `json:"tool"`
	Version    string            `json:"version"`
	Status     verdict.Status    `json:"status"`
	ExitCode   int               `json:"exit_code"`
	Reasons    []string          `json:"reasons"`
	Warnings   []string          `json:"warnings"`
	Partial    bool              `json:"partial"`
	Aborted    bool              `json:"aborted"`
	Scenario   Scenario          `json:"scenario"`
	StartedAt  string            `json:"started_at"` // UTC RFC 3339
	EndedAt    string            `json:"ended_at"`   // UTC RFC 3339
	DurationS  float64           `json:"duration_s"`
	Metrics    Metrics           `json:"metrics"`
	Thresholds []ThresholdResult `json:"thresholds"`
	Timeseries []Point           `json:"timeseries"`
	Generator  Generator         `json:"generator"`
	// Agents is the coverage of each agent of a distributed run; absent
	// for a single-host run.
	Agents []Agent `json:"agents,omitempty"`
	// Capacity is the capacity search of a search's report
	// (docs/capacity.md); absent for a run.
	Capacity *Capacity `json:"capacity,omitempty"`
	// Errors counts failed requests by kind (engine.Kind names).
	Errors map[string]int64 `json:"errors"`
	// ErrorSamples holds the first message seen for each kind, redacted.
	ErrorSamples map[string]string `json:"error_samples"`
	Plan         *PlanInfo         `json:"plan"`

	// RunID identifies the run (Run.RunID); absent in reports of versions
	// before it, and then empty.
	RunID string `json:"run_id,omitempty"`

	// extras are the fields of a report read by DecodeJSON that this
	// version does not know, written back by WriteJSON (docs/reports.md:
	// later v1 versions may add fields).
	extras []extra
}

// ThresholdResult is one threshold expression's final state.
type ThresholdResult struct {
	Metric   string  `json:"metric"` // selector key, e.g. http_req_duration{step:x}
	Expr     string  `json:"expr"`
	Observed float64 `json:"observed"`
	Limit    float64 `json:"limit"`
	Unit     string  `json:"unit"`
	Passed   bool    `json:"passed"`
	Severity string  `json:"severity"` // fail | warn
	Aborted  bool    `json:"aborted"`
	Skipped  bool    `json:"skipped"`
	NoData   bool    `json:"no_data"`
	// WindowS is the sliding window in seconds (absent: the whole run) and
	// MinSamples the threshold's min_samples (absent: none); merge needs
	// both to re-evaluate a threshold.
	WindowS    float64 `json:"window_s,omitempty"`
	MinSamples int64   `json:"min_samples,omitempty"`
	// FirstFailedAt is the wall-clock time of the first failing evaluation
	// (Run.MeasureStart plus its offset, UTC RFC 3339), null if it never
	// failed.
	FirstFailedAt *string `json:"first_failed_at"`
	Reason        string  `json:"reason"`
	// Confidence is the threshold's confidence level (absent without one);
	// Interval the confidence interval of Observed at it ([lo, hi], null
	// for an open side); Undecided is set when the interval straddled the
	// limit at the end, and ToDecide is then about how many more samples
	// would decide it (absent when none would). docs/thresholds.md,
	// "Confidence".
	Confidence float64    `json:"confidence,omitempty"`
	Interval   []*float64 `json:"interval,omitempty"`
	Undecided  bool       `json:"undecided,omitempty"`
	ToDecide   int64      `json:"to_decide,omitempty"`
	// UndecidedAs is what the threshold counts as for the run when it is
	// undecided: inconclusive, pass or fail (its undecided option; set
	// with a confidence).
	UndecidedAs string `json:"undecided_as,omitempty"`
	// NotRun marks the thresholds of a run whose load never started
	// (skipped, with the status in words as the reason: "not run:
	// preflight failed"; docs/reports.md, "A run that never started").
	NotRun bool `json:"not_run,omitempty"`
}

// Generator is the generator's own health over the run, and how the load
// ended (docs/metrics.md, "The generator's health").
type Generator struct {
	Planned      int64 `json:"planned"`       // arrivals due in the time the run lasted
	PlannedTotal int64 `json:"planned_total"` // arrivals of the whole planned run
	Started      int64 `json:"started"`
	// Dropped counts arrivals that found no free slot (max_in_flight
	// full): dropped (overload: drop) or still waiting when the load
	// stopped. They are failed requests of kind no_free_slot.
	Dropped int64 `json:"dropped"`
	// NotStarted counts planned arrivals that had a free slot and that
	// the generator did not start: Planned - Started - Dropped.
	NotStarted int64 `json:"not_started"`
	// Cancelled counts requests still in flight at the end of the grace
	// period (load.graceful_stop): cut off, and not in the request metrics.
	Cancelled int64 `json:"cancelled"`
	// ScheduleLagP99 and ScheduleLagMax are in ms: the generator's own
	// lateness, with a free slot.
	ScheduleLagP99 float64 `json:"schedule_lag_p99"`
	ScheduleLagMax float64 `json:"schedule_lag_max"`
	// SlotWaitP99 and SlotWaitMax (ms) are of slot_wait: how long
	// arrivals waited for a free slot; absent without samples (the closed
	// model, reports of versions before it).
	SlotWaitP99 *float64 `json:"slot_wait_p99,omitempty"`
	SlotWaitMax *float64 `json:"slot_wait_max,omitempty"`
	// AchievedRatio is Started / (Planned - Dropped): the share of the
	// arrivals that had a free slot that the generator started; null when
	// nothing was planned (the closed model has no arrival schedule).
	AchievedRatio *float64 `json:"achieved_ratio"`
	// StoppedAtS is when, in seconds from the start of the measurement,
	// the load stopped starting requests: the end of the profile, or an
	// earlier stop (a signal, an abort, data run out). duration_s -
	// stopped_at_s is how long requests in flight drained. Absent when
	// unknown (distributed runs, reports of versions before it).
	StoppedAtS *float64 `json:"stopped_at_s,omitempty"`
	// Clock is the timer that paced the run (engine.ClockKernel or
	// engine.ClockGo); absent when unknown (distributed runs, reports of
	// versions before it). ClockFallback says why a kernel timer could not
	// be had; a warning says it too.
	Clock         string `json:"clock,omitempty"`
	ClockFallback string `json:"clock_fallback,omitempty"`
	// Wakeups is how many times the clock woke the process, and
	// WakeLateP99 and WakeLateMax (ms) how late after their due instant
	// those wake-ups came: the host's timer latency, which schedule_lag
	// adds to the slack. Absent when unknown (distributed runs, a run that
	// never waited).
	Wakeups     int64    `json:"wakeups,omitempty"`
	WakeLateP99 *float64 `json:"wake_late_p99,omitempty"`
	WakeLateMax *float64 `json:"wake_late_max,omitempty"`
	// Process is what the generator's process had used when the report
	// was written. Absent when unknown (distributed runs).
	Process *Process `json:"process,omitempty"`
}

// Process is the generator's use of CPU and memory (docs/metrics.md, "The
// generator's health"): whether it was short of CPU, and where its memory
// goes. Sizes in MiB; the resident split is of the moment of the report.
type Process struct {
	CPUS       float64 `json:"cpu_s"`        // user + system, every thread
	PeakRSS    float64 `json:"peak_rss_mib"` // the high-water mark of resident memory
	RSSFile    float64 `json:"rss_file_mib"` // resident pages of files: the binary's code and data
	RSSAnon    float64 `json:"rss_anon_mib"` // resident anonymous memory: heap, stacks, runtime
	HeapMiB    float64 `json:"heap_mib"`     // the Go heap's objects and free space in their spans
	StacksMiB  float64 `json:"stacks_mib"`   // goroutine and system stacks
	RuntimeMiB float64 `json:"runtime_mib"`  // the Go runtime's own metadata
}

// processOf converts u for the report; nil for nil.
func processOf(u *procstat.Usage) *Process {
	if u == nil {
		return nil
	}
	mib := func(b int64) float64 { return round(float64(b)/(1<<20), 1) }
	return &Process{CPUS: round(u.CPU.Seconds(), 3), PeakRSS: mib(u.PeakRSS), RSSFile: mib(u.RSSFile), RSSAnon: mib(u.RSSAnon),
		HeapMiB: mib(u.Heap), StacksMiB: mib(u.Stacks), RuntimeMiB: mib(u.Runtime)}
}

// PlanInfo echoes the load profile the run was given.
type PlanInfo struct {
	Model       string      `json:"model"`
	Arrivals    string      `json:"arrivals"`
	StartRate   float64     `json:"start_rate"`
	Stages      []StageInfo `json:"stages"`
	MaxInFlight int         `json:"max_in_flight"`
	Overload    string      `json:"overload"`
	MaxRate     float64     `json:"max_rate,omitempty"`
	IntervalS   float64     `json:"interval_s"`
	// SlackMS is load.slack: how late the generator could start an
	// arrival to share a wake-up. Absent in reports of versions before it.
	SlackMS *float64 `json:"slack_ms,omitempty"`
	// Segment is the share of arrivals this run executed (0-based index of
	// count); {0, 1} is the whole schedule.
	Segment SegmentInfo `json:"segment"`
	Flows   []FlowInfo  `json:"flows"`
	// HTTPVersion is "2" or "h2c" when the run spoke HTTP/2; absent for
	// HTTP/1.1.
	HTTPVersion string `json:"http_version,omitempty"`
	// TLSInsecure is true when certificates were not verified.
	TLSInsecure bool `json:"tls_insecure,omitempty"`
}

// StageInfo is one stage of the load profile.
type StageInfo struct {
	DurationS float64 `json:"duration_s"`
	Target    float64 `json:"target"`
}

// SegmentInfo is engine.Segment in a report.
type SegmentInfo struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// FlowInfo names a flow and its steps. URLs are left out on purpose: they
// may carry secrets and the names are what users tag by.
type FlowInfo struct {
	Name   string   `json:"name"`
	Weight int      `json:"weight"`
	Steps  []string `json:"steps"`
}

// Build computes the Summary of r. It reads r.Final and r.Timeline and never
// modifies them.
func Build(r Run) *Summary {
	red := r.Redactor
	s := &Summary{
		Schema:       Schema,
		Tool:         r.Tool,
		Version:      r.Version,
		Status:       r.Status,
		ExitCode:     r.Status.Code(),
		Reasons:      red.strings(r.Reasons),
		Warnings:     red.strings(r.Warnings),
		Partial:      r.Partial,
		Aborted:      r.Aborted,
		Scenario:     Scenario{Name: red.String(r.Scenario.Name), Path: red.String(r.Scenario.Path), SHA256: r.Scenario.SHA256},
		StartedAt:    rfc3339(r.Started),
		EndedAt:      rfc3339(r.Ended),
		DurationS:    round(duration(r).Seconds(), 3),
		Metrics:      Metrics{},
		Thresholds:   thresholdResults(r.Thresholds, measureStart(r), red, notRunReason(r)),
		Timeseries:   []Point{},
		Errors:       map[string]int64{},
		ErrorSamples: map[string]string{},
		Plan:         planInfo(r.Plan),
		Agents:       agentsOf(r.Agents, red),
		RunID:        r.RunID,
	}
	if r.Capacity != nil {
		s.Capacity = CapacityOf(r.Capacity, red)
	}
	if s.DurationS < 0 {
		s.DurationS = 0
	}
	if s.Plan != nil {
		s.Plan.TLSInsecure = r.TLSInsecure
	}
	if r.Timeline != nil {
		s.Timeseries = r.Timeline.Points()
	}
	if r.Final != nil && r.Final.Total != nil {
		total := r.Final.Total
		if r.Plan != nil {
			for _, sel := range selections(r.Plan, total, r.Thresholds, r.Extra) {
				s.Metrics[sel.Key()] = metricOf(sel.Read(total), s.DurationS, sel.Metric.Bytes)
			}
		}
		s.Generator = generator(r.Final)
		s.Generator.Process = processOf(r.Process)
		if why := r.Final.ClockFallback; why != "" {
			s.Warnings = append(s.Warnings, "the run's clock fell back to Go timers ("+why+"): arrivals may have started up to 1 ms late")
		}
		errorsOf(total, r.Final, red, s)
	}
	return s
}

// duration is the measured span of r: the final snapshot's Total when there
// is one, the same span the evaluator's counter rates use. Without a
// snapshot (invalid or preflight-failed runs) it is the wall-clock span.
func duration(r Run) time.Duration {
	if r.Final != nil && r.Final.Total != nil {
		return r.Final.Total.End - r.Final.Total.Start
	}
	return r.Ended.Sub(r.Started)
}

// measureStart is the wall-clock time the engine's offsets count from.
func measureStart(r Run) time.Time {
	if r.MeasureStart.IsZero() {
		return r.Started
	}
	return r.MeasureStart
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// NotRunPrefix starts the reason of every threshold of a run that never
// started: "not run: preflight failed".
const NotRunPrefix = "not run: "

// notRunReason is the reason of the thresholds of r when its load never
// started, "" otherwise: the status in words, e.g. "not run: preflight
// failed".
func notRunReason(r Run) string {
	if !r.NotStarted {
		return ""
	}
	status := strings.ReplaceAll(string(r.Status), "_", " ")
	if status == "" {
		status = "the load never started"
	}
	return NotRunPrefix + status
}

// thresholdResults are the thresholds of a report; notRun, when set, is
// the reason of every one of a run that never started.
func thresholdResults(rs []slo.Result, started time.Time, red *Redactor, notRun string) []ThresholdResult {
	out := make([]ThresholdResult, 0, len(rs))
	for _, r := range rs {
		if notRun != "" {
			// Nothing was evaluated: no value, no failure, only the limit
			// the expression resolved to.
			r.Observed, r.Passed, r.Failed, r.NoData, r.Aborted = 0, false, false, false, false
			r.Skipped, r.Reason, r.Why = true, notRun, slo.WhySkipped
		}
		digits := 6 // shares and counts: keep small rates visible
		if r.Unit == "ms" {
			digits = 3
		}
		t := ThresholdResult{
			Metric:   r.Key,
			Expr:     r.Threshold.Expr,
			Observed: round(r.Observed, digits),
			Limit:    round(r.Limit, digits),
			Unit:     r.Unit,
			Passed:   r.Passed,
			Severity: r.Threshold.Severity.String(),
			Aborted:  r.Aborted,
			Skipped:  r.Skipped,
			NoData:   r.NoData,
			Reason:   red.String(r.Reason),

			WindowS:    r.Threshold.Window.Seconds(),
			MinSamples: r.Threshold.MinSamples,
			NotRun:     notRun != "",
			Confidence: r.Threshold.Confidence,
			Undecided:  r.Undecided,
			ToDecide:   r.ToDecide,
		}
		if r.CI != nil && notRun == "" {
			t.Interval = boundsOf(*r.CI, digits)
		}
		if t.Confidence > 0 {
			t.UndecidedAs = r.Threshold.Undecided.String()
		}
		if r.Failed {
			at := rfc3339(started.Add(r.FirstFailedAt))
			t.FirstFailedAt = &at
		}
		switch {
		case r.Why == slo.WhyBreach && r.WindowEnd == 0:
			// A breach is its values, in the words every output uses
			// (detail.go): a human unit, no exponent.
			t.Reason = observedLimit(t)
		case r.Why == slo.WhyUnsure:
			t.Reason = unsureReason(t)
		}
		out = append(out, t)
	}
	return out
}

// boundsOf is an interval as reports write it: [lo, hi], null for an open
// side, rounded as the threshold's values.
func boundsOf(b slo.Bounds, digits int) []*float64 {
	out := []*float64{nil, nil}
	if !b.NoLo {
		out[0] = ptr(round(b.Lo, digits))
	}
	if !b.NoHi {
		out[1] = ptr(round(b.Hi, digits))
	}
	return out
}

func generator(f *engine.Snapshot) Generator {
	t := f.Total
	g := Generator{Planned: t.Planned, PlannedTotal: f.PlannedTotal, Started: t.Started, Dropped: t.Dropped,
		NotStarted: max(t.Planned-t.Started-t.Dropped, 0), Cancelled: t.Cancelled,
		Clock: f.Clock, ClockFallback: f.ClockFallback}
	if t.Lag != nil {
		g.ScheduleLagP99 = ms(t.Lag.Quantile(0.99))
		g.ScheduleLagMax = ms(t.Lag.Max())
	}
	if t.SlotWait != nil && t.SlotWait.Count() > 0 {
		p99, mx := ms(t.SlotWait.Quantile(0.99)), ms(t.SlotWait.Max())
		g.SlotWaitP99, g.SlotWaitMax = &p99, &mx
	}
	g.AchievedRatio = achievedRatio(g)
	if f.Wakeups > 0 && f.WakeLate != nil {
		p99, mx := ms(f.WakeLate.Quantile(0.99)), ms(f.WakeLate.Max())
		g.Wakeups, g.WakeLateP99, g.WakeLateMax = f.Wakeups, &p99, &mx
	}
	if f.StoppedAt > 0 {
		s := round(f.StoppedAt.Seconds(), 3)
		g.StoppedAtS = &s
	}
	return g
}

// achievedRatio is Started / (Planned - Dropped), nil when nothing was
// planned; 1 when every planned arrival found no free slot (the generator
// missed none).
func achievedRatio(g Generator) *float64 {
	if g.Planned <= 0 {
		return nil
	}
	r := 1.0
	if due := g.Planned - g.Dropped; due > 0 {
		r = round(float64(g.Started)/float64(due), 6)
	}
	return &r
}

// errorsOf sums the failure kinds over every step into s.Errors and copies
// the redacted samples.
func errorsOf(total *engine.Period, f *engine.Snapshot, red *Redactor, s *Summary) {
	var sum [engine.NumKinds]int64
	for _, flow := range total.Steps {
		for i := range flow {
			for k, n := range flow[i].Errors {
				sum[k] += n
			}
		}
	}
	for k := engine.KindNone + 1; k < engine.NumKinds; k++ {
		if sum[k] > 0 {
			s.Errors[k.String()] = sum[k]
		}
		if msg := f.ErrorSamples[k]; msg != "" {
			s.ErrorSamples[k.String()] = red.String(msg)
		}
	}
}

func planInfo(p *engine.Plan) *PlanInfo {
	if p == nil {
		return nil
	}
	pi := &PlanInfo{
		Model:       p.Load.Model.String(),
		Arrivals:    p.Load.Arrivals.String(),
		StartRate:   p.Load.StartRate,
		Stages:      make([]StageInfo, 0, len(p.Load.Stages)),
		MaxInFlight: p.Load.MaxInFlight,
		Overload:    p.Load.Overload.String(),
		MaxRate:     p.Load.MaxRate,
		IntervalS:   p.Interval.Seconds(),
		Segment:     SegmentInfo{Index: p.Segment.Index, Count: p.Segment.Count},
		Flows:       make([]FlowInfo, 0, len(p.Flows)),
	}
	slack := ms(p.Load.Slack)
	pi.SlackMS = &slack
	// Echo what the engine ran with, not the zero values it defaulted.
	if pi.MaxInFlight <= 0 {
		pi.MaxInFlight = engine.DefaultMaxInFlight
	}
	if p.Interval <= 0 {
		pi.IntervalS = engine.DefaultInterval.Seconds()
	}
	if p.Segment.Whole() {
		pi.Segment = SegmentInfo{Index: 0, Count: 1}
	}
	if p.HTTPVersion != engine.HTTP1 {
		pi.HTTPVersion = p.HTTPVersion.String()
	}
	for _, st := range p.Load.Stages {
		pi.Stages = append(pi.Stages, StageInfo{DurationS: st.Duration.Seconds(), Target: st.Target})
	}
	for _, f := range p.Flows {
		fi := FlowInfo{Name: f.Name, Weight: f.Weight, Steps: make([]string, 0, len(f.Steps))}
		for _, st := range f.Steps {
			fi.Steps = append(fi.Steps, st.Name)
		}
		pi.Flows = append(pi.Flows, fi)
	}
	return pi
}

// round rounds x to digits decimals; NaN and infinities become 0 because
// JSON cannot carry them.
func round(x float64, digits int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	p := math.Pow10(digits)
	return math.Round(x*p) / p
}

// ms converts d to milliseconds with microsecond precision.
func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// NewRunID returns a new run id: 128 random bits in hex.
func NewRunID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b[:])
}
