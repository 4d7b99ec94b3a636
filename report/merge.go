package report

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/histogram"
	"github.com/loadgate/loadgate/verdict"
)

// MergeOptions tunes Merge.
type MergeOptions struct {
	// Names label the inputs in reasons and errors (their file names);
	// missing ones read "input N".
	Names []string
	// Force merges runs of different scenarios (sha256) or of inconsistent
	// segments, with a warning instead of an error.
	Force         bool
	Tool, Version string
}

// Cause is one cause of a merged run's verdict that does not come from its
// thresholds: the status it calls for (inconclusive, interrupted,
// internal_error; docs/exit-codes.md) and why.
type Cause struct {
	Status verdict.Status
	Reason string
}

// Merged is what Merge returns. The Summary's Status, ExitCode and Reasons
// are left empty: the caller decides the verdict from Causes and from the
// re-evaluated Thresholds, as it does for a run, because only the CLI maps
// statuses to exit codes.
type Merged struct {
	Summary *Summary
	Causes  []Cause
}

// Merge combines the reports of runs that shared the load of one scenario
// (the segments of --segment I/N, or hosts that each ran it) into the report
// of their union:
//
//   - trends: the HDR histograms are merged and every aggregate (count, min,
//     avg, quantiles, max) is recomputed from the merged histogram, so the
//     result is exactly what one run recording every sample would report;
//   - rates add their hits and totals, counters their counts; a counter's
//     rate is its merged count over the merged duration_s;
//   - duration_s is the longest input's: the inputs are shards of one run
//     that ran side by side, so together they lasted that long (started_at
//     is the earliest start and ended_at the latest end; both have whole
//     seconds only, too coarse for rates). Inputs that did not overlap in
//     time get a warning;
//   - the time series is aligned by interval (mergeTimeseries);
//   - generator figures and error counts add up;
//   - thresholds are re-evaluated on the merged metrics (mergeThresholds);
//   - the agents of distributed inputs are listed one after the other, in
//     the order of the inputs.
//
// Merge fails on inputs of different scenarios or inconsistent segments
// (unless opt.Force) and on trends without a readable HDR histogram, which
// could not be merged exactly.
func Merge(in []*Summary, opt MergeOptions) (*Merged, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("report: merge: no reports")
	}
	names := make([]string, len(in))
	for i := range in {
		names[i] = fmt.Sprintf("input %d", i+1)
		if i < len(opt.Names) && opt.Names[i] != "" {
			names[i] = opt.Names[i]
		}
	}
	first := in[0]
	out := &Summary{
		Schema: Schema, Tool: opt.Tool, Version: opt.Version,
		Reasons: []string{}, Warnings: []string{},
		Scenario:   first.Scenario,
		Timeseries: []Point{},
		Errors:     map[string]int64{}, ErrorSamples: map[string]string{},
	}
	out.RunID = NewRunID() // a merged report is a document of its own
	m := &Merged{Summary: out}
	for i, s := range in[1:] {
		if s.Scenario.SHA256 == first.Scenario.SHA256 {
			continue
		}
		msg := fmt.Sprintf("%s and %s ran different scenarios (sha256 %.12s… and %.12s…)", names[0], names[i+1], first.Scenario.SHA256, s.Scenario.SHA256)
		if !opt.Force {
			return nil, fmt.Errorf("report: merge: %s; --force merges them anyway", msg)
		}
		out.Warnings = append(out.Warnings, "merged with --force: "+msg)
	}
	for i := range in {
		for j := range i {
			why := sameRun(in[j], in[i])
			if why == "" {
				continue
			}
			msg := fmt.Sprintf("%s and %s are the same run (%s): its counts would be summed twice", names[j], names[i], why)
			if !opt.Force {
				return nil, fmt.Errorf("report: merge: %s; --force merges them anyway", msg)
			}
			out.Warnings = append(out.Warnings, "merged with --force: "+msg)
			break
		}
	}
	if err := mergePlans(in, names, opt.Force, m); err != nil {
		return nil, err
	}
	mergeTimes(in, out)
	var err error
	var hists map[string]*histogram.Histogram
	if out.Metrics, hists, err = mergeMetrics(in, names, out.DurationS); err != nil {
		return nil, err
	}
	if out.Thresholds, err = mergeThresholds(in, names, out, hists); err != nil {
		return nil, err
	}
	out.Timeseries = mergeTimeseries(in, intervalOf(out.Plan))
	out.Generator = mergeGenerator(in, out.Metrics)
	for _, s := range in {
		for k, n := range s.Errors {
			out.Errors[k] += n
		}
		for k, msg := range s.ErrorSamples {
			if out.ErrorSamples[k] == "" {
				out.ErrorSamples[k] = msg
			}
		}
		out.Partial = out.Partial || s.Partial
		out.Aborted = out.Aborted || s.Aborted
		for _, w := range s.Warnings {
			if !slices.Contains(out.Warnings, w) {
				out.Warnings = append(out.Warnings, w)
			}
		}
	}
	for _, s := range in {
		out.Agents = append(out.Agents, s.Agents...)
	}
	m.Causes = append(m.Causes, inputCauses(in, names, out)...)
	return m, nil
}

// sameRun says why a and b are reports of one run, or "": the same run_id
// (a run's .partial and final reports share it, copies and re-rendered
// reports keep it). A report of a version before run_id is the same run as
// another if it has the same scenario, segment and start, and the same
// data: hosts that started one scenario in the same second differ in
// their histograms (docs/reports.md).
func sameRun(a, b *Summary) string {
	if a.RunID != "" && b.RunID != "" {
		if a.RunID == b.RunID {
			return fmt.Sprintf("run_id %.12s…", a.RunID)
		}
		return ""
	}
	seg := func(s *Summary) SegmentInfo {
		if s.Plan == nil || s.Plan.Segment.Count <= 1 {
			return SegmentInfo{Count: 1}
		}
		return s.Plan.Segment
	}
	if a.StartedAt != "" && a.StartedAt == b.StartedAt && a.Scenario.SHA256 == b.Scenario.SHA256 &&
		seg(a) == seg(b) && reflect.DeepEqual(a.Metrics, b.Metrics) {
		return "the same scenario, segment, start and data"
	}
	return ""
}

// inputCauses carries over what made an input untrustworthy or incomplete.
// A failed or passed input adds nothing: its thresholds are re-evaluated.
func inputCauses(in []*Summary, names []string, out *Summary) []Cause {
	var cs []Cause
	for i, s := range in {
		n := names[i]
		switch s.Status {
		case verdict.Interrupted, verdict.Internal:
			// The same status, so that the merge is as partial as its input.
			cs = append(cs, Cause{s.Status, fmt.Sprintf("%s: %s: the merged run is partial", n, s.Status)})
			continue
		case verdict.Inconclusive:
			cs = append(cs, Cause{verdict.Inconclusive, fmt.Sprintf("%s: inconclusive (%s)", n, strings.Join(s.Reasons, "; "))})
		case verdict.Invalid, verdict.PreflightFailed:
			// Nothing was sent: like a lost agent, a share of the load is missing.
			cs = append(cs, Cause{verdict.Inconclusive, fmt.Sprintf("%s: %s: nothing was sent, its share of the load is missing", n, s.Status)})
			continue
		case verdict.IOError:
			out.Warnings = append(out.Warnings, n+": its run could not write every report (io_error); its measurements are complete")
		}
		if s.Partial {
			// A .partial report, or a run killed before it ended.
			cs = append(cs, Cause{verdict.Inconclusive, n + ": partial report: its run did not finish, its share of the load is incomplete"})
		}
	}
	return cs
}

// mergePlans takes the first input's plan and checks that the segments
// fit together: either every input ran the whole schedule (several hosts)
// or each ran a distinct share I of the same N. Missing shares make the run
// inconclusive; the merged plan is the whole schedule only when every share
// is there.
func mergePlans(in []*Summary, names []string, force bool, m *Merged) error {
	seen := map[int]string{}
	count := 0
	for i, s := range in {
		if s.Plan == nil {
			continue
		}
		if m.Summary.Plan == nil {
			p := *s.Plan
			m.Summary.Plan = &p
		}
		seg := s.Plan.Segment
		if seg.Count <= 1 {
			seg = SegmentInfo{Index: 0, Count: 1}
		}
		var problem string
		switch {
		case count != 0 && seg.Count != count:
			problem = fmt.Sprintf("%s ran segment %d/%d, but other inputs are shares of %d", names[i], seg.Index, seg.Count, count)
		case seg.Count > 1 && seen[seg.Index] != "":
			problem = fmt.Sprintf("%s and %s both ran segment %d/%d: their load would count twice", seen[seg.Index], names[i], seg.Index, seg.Count)
		}
		if problem != "" && !force {
			return fmt.Errorf("report: merge: %s; --force merges them anyway", problem)
		}
		if problem != "" {
			m.Summary.Warnings = append(m.Summary.Warnings, "merged with --force: "+problem)
		}
		count = max(count, seg.Count)
		seen[seg.Index] = names[i]
	}
	if count <= 1 || m.Summary.Plan == nil {
		return nil
	}
	var missing []string
	for i := 0; i < count; i++ {
		if seen[i] == "" {
			missing = append(missing, fmt.Sprintf("%d/%d", i, count))
		}
	}
	if len(missing) == 0 {
		m.Summary.Plan.Segment = SegmentInfo{Index: 0, Count: 1}
		return nil
	}
	if len(missing) > 5 {
		missing = append(missing[:5], fmt.Sprintf("… (%d in all)", len(missing)))
	}
	m.Causes = append(m.Causes, Cause{verdict.Inconclusive, fmt.Sprintf("segments missing from the merge: %s; the load measured is not the whole schedule", strings.Join(missing, ", "))})
	return nil
}

// mergeTimes sets started_at, ended_at and duration_s (see Merge).
func mergeTimes(in []*Summary, out *Summary) {
	var start, end, lastStart, firstEnd time.Time
	for _, s := range in {
		out.DurationS = max(out.DurationS, s.DurationS)
		st, en := s.Started(), s.Ended()
		if !st.IsZero() && (start.IsZero() || st.Before(start)) {
			start = st
		}
		if !st.IsZero() && st.After(lastStart) {
			lastStart = st
		}
		if !en.IsZero() && en.After(end) {
			end = en
		}
		if !en.IsZero() && (firstEnd.IsZero() || en.Before(firstEnd)) {
			firstEnd = en
		}
	}
	out.StartedAt, out.EndedAt = rfc3339(start), rfc3339(end)
	// Times have whole seconds: allow one of slack before calling two runs
	// disjoint.
	if len(in) > 1 && !lastStart.IsZero() && !firstEnd.IsZero() && lastStart.After(firstEnd.Add(time.Second)) {
		out.Warnings = append(out.Warnings, "the merged runs did not all run at the same time: rates assume they did (duration_s is the longest run's)")
	}
}

// mergeMetrics merges every metric key present in any input. It returns the
// merged trend histograms too, for the thresholds.
func mergeMetrics(in []*Summary, names []string, durationS float64) (Metrics, map[string]*histogram.Histogram, error) {
	acc := Metrics{}
	hists := map[string]*histogram.Histogram{}
	for i, s := range in {
		for k, m := range s.Metrics {
			a, seen := acc[k]
			if seen && a.Type != m.Type {
				return nil, nil, fmt.Errorf("report: merge: metric %s is a %s in %s but a %s before", k, m.Type, names[i], a.Type)
			}
			a.Type = m.Type
			switch m.Type {
			case TypeTrend:
				if m.HDR == "" && m.Count > 0 {
					return nil, nil, fmt.Errorf("report: merge: %s: metric %s has no hdr histogram: it cannot be merged exactly", names[i], k)
				}
				h, err := m.Histogram()
				if err != nil {
					return nil, nil, fmt.Errorf("report: merge: %s: metric %s: %w", names[i], k, err)
				}
				if hists[k] == nil {
					hists[k] = histogram.New()
				}
				hists[k].Merge(h)
			case TypeRate:
				a.Hits += m.Hits
				a.Total += m.Total
			case TypeCounter:
				a.Count += m.Count
				a.Unit = m.Unit
			}
			acc[k] = a
		}
	}
	out := make(Metrics, len(acc))
	for k, a := range acc {
		switch a.Type {
		case TypeTrend:
			out[k] = metricOf(engine.Value{Type: engine.Trend, Hist: hists[k]}, durationS, false)
		case TypeRate:
			out[k] = metricOf(engine.Value{Type: engine.Rate, Hits: a.Hits, Total: a.Total}, durationS, false)
		case TypeCounter:
			out[k] = metricOf(engine.Value{Type: engine.Counter, Count: a.Count}, durationS, a.Unit == "B")
		}
	}
	return out, hists, nil
}

// mergeGenerator adds the generator's counts. The schedule lag p99 comes
// from the merged schedule_lag histogram when the reports have it (exact),
// else it is the largest input's (an upper bound: a quantile of a union
// never exceeds the largest of the parts' quantiles).
func mergeGenerator(in []*Summary, ms Metrics) Generator {
	var g Generator
	for _, s := range in {
		x := s.Generator
		g.Planned += x.Planned
		g.PlannedTotal += x.PlannedTotal
		g.Started += x.Started
		g.Dropped += x.Dropped
		g.NotStarted += x.NotStarted
		g.Cancelled += x.Cancelled
		g.ScheduleLagP99 = max(g.ScheduleLagP99, x.ScheduleLagP99)
		g.ScheduleLagMax = max(g.ScheduleLagMax, x.ScheduleLagMax)
	}
	if lag, ok := ms["schedule_lag"]; ok && lag.Type == TypeTrend && lag.Count > 0 {
		g.ScheduleLagP99, g.ScheduleLagMax = lag.P99, lag.Max
	}
	if w, ok := ms["slot_wait"]; ok && w.Type == TypeTrend && w.Count > 0 {
		p99, mx := w.P99, w.Max
		g.SlotWaitP99, g.SlotWaitMax = &p99, &mx
	}
	g.AchievedRatio = achievedRatio(g)
	return g
}

// intervalOf is the plan's interval in seconds (1 without a plan).
func intervalOf(p *PlanInfo) float64 {
	if p == nil || p.IntervalS <= 0 {
		return 1
	}
	return p.IntervalS
}

// mergeTimeseries aligns the inputs' rows by interval: a row belongs to the
// interval boundary its end t falls on, with a quarter of an interval of
// slack because the collector's ticks come a little late (and a run's last,
// short row may end just after the last boundary). Rows of one input in the
// same interval are joined end to end; rows of different inputs ran side by
// side, so their counts (requests, errors, planned, dropped, in flight)
// add and the span is the longest one's.
//
// Quantiles cannot be merged exactly: the time series keeps no histograms.
// A row that only one input has keeps its exact values; otherwise each
// quantile is the largest of the inputs' (an upper bound of the quantile of
// the union, which keeps a stall in one shard visible). The metrics and the
// thresholds never use these rows: they come from the merged HDR histograms.
func mergeTimeseries(in []*Summary, intervalS float64) []Point {
	type cell struct {
		p Point
		n int // inputs that contributed
	}
	cells := map[int64]*cell{}
	for _, s := range in {
		own := map[int64]Point{}
		for _, p := range s.Timeseries {
			k := int64(math.Ceil(p.T/intervalS - 0.25))
			if q, ok := own[k]; ok {
				p = merge(q, p) // joined end to end
			}
			own[k] = p
		}
		for k, p := range own {
			c := cells[k]
			if c == nil {
				cells[k] = &cell{p: p, n: 1}
				continue
			}
			c.p = sideBySide(c.p, p)
			c.n++
		}
	}
	keys := make([]int64, 0, len(cells))
	for k := range cells {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]Point, 0, len(keys))
	for _, k := range keys {
		out = append(out, cells[k].p)
	}
	return out
}

// sideBySide joins rows of two runs over the same span (see mergeTimeseries).
func sideBySide(a, b Point) Point {
	m := Point{
		T:          max(a.T, b.T),
		DT:         max(a.DT, b.DT),
		Reqs:       a.Reqs + b.Reqs,
		Errors:     a.Errors + b.Errors,
		P50:        max(a.P50, b.P50),
		P95:        max(a.P95, b.P95),
		P99:        max(a.P99, b.P99),
		ServiceP99: max(a.ServiceP99, b.ServiceP99),
		Planned:    a.Planned + b.Planned,
		Dropped:    a.Dropped + b.Dropped,
		InFlight:   a.InFlight + b.InFlight,
		LagP99:     max(a.LagP99, b.LagP99),
	}
	if m.DT > 0 {
		m.RPS = round(float64(m.Reqs)/m.DT, 3)
	}
	return m
}
