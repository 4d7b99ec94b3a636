package report

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/loadgate/loadgate/engine"
)

// WriteText writes the end-of-test summary for people: the run, every metric
// with its aggregates (sub-metrics indented under their metric), generator
// health and errors, the agents of a distributed run, the thresholds and the
// verdict. color adds ANSI colors
// and ✓/✗ markers; without it markers are PASS/FAIL words, for logs and
// files.
func WriteText(w io.Writer, s *Summary, color bool) error {
	return WriteTextWith(w, s, TextOptions{Color: color})
}

// TextOptions are the choices of a text summary that belong to the
// console, not to the report.
type TextOptions struct {
	// Color adds ANSI colors and ✓/✗ markers.
	Color bool
	// ExitCode, when not 0, is the code the process exits with instead of
	// the report's exit_code (--exit-code-on-fail remaps a failed gate's 1,
	// docs/exit-codes.md): the STATUS line says the code the process
	// returns, and that the reports keep theirs.
	ExitCode int
}

// WriteTextWith is WriteText with the console's options.
func WriteTextWith(w io.Writer, s *Summary, o TextOptions) error {
	color := o.Color
	bw := bufio.NewWriter(w)
	writeHeader(bw, s)
	writeCapacity(bw, s)
	writeMetrics(bw, s)
	writeHealth(bw, s)
	writeAgents(bw, s, color)
	writeThresholds(bw, s, color)
	writeStatus(bw, s, color, o.ExitCode)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: text: %w", err)
	}
	return nil
}

func writeHeader(w *bufio.Writer, s *Summary) {
	name := s.Scenario.Name
	if name == "" {
		name = "(unnamed)"
	}
	if sha := s.Scenario.SHA256; len(sha) >= 12 {
		name += "  sha256:" + sha[:12]
	}
	fmt.Fprintf(w, "  scenario: %s\n", name)
	if s.StartedAt != "" {
		fmt.Fprintf(w, "  run:      %s .. %s (%s)", s.StartedAt, s.EndedAt, fmtMS(s.DurationS*1000))
		if p := s.Plan; p != nil {
			fmt.Fprintf(w, ", %s model", p.Model)
			if p.Segment.Count > 1 {
				fmt.Fprintf(w, ", segment %d/%d", p.Segment.Index, p.Segment.Count)
			}
		}
		w.WriteString("\n")
		if p := s.Plan; p != nil && p.Model == "closed" {
			// Closed-model latency is service time by nature: a user sends
			// when its previous iteration ended, so there is no intended
			// time to correct from (docs/scenario-reference.md, load).
			w.WriteString("  note:     closed model: http_req_duration is service time (no coordinated-omission correction applies)\n")
		}
	}
	w.WriteString("\n")
}

// writeMetrics writes one line per metric. Trend aggregates are aligned in
// columns across all trend lines so that sub-metrics compare at a glance.
func writeMetrics(w *bufio.Writer, s *Summary) {
	keys := s.Metrics.Keys()
	if len(keys) == 0 {
		return
	}
	labels := make([]string, len(keys))
	cells := make([][]string, len(keys))
	width := 0
	var colw []int
	for i, k := range keys {
		labels[i] = metricLabel(k)
		width = max(width, len([]rune(labels[i])))
		cells[i] = metricCells(s.Metrics[k])
		if s.Metrics[k].Type != TypeTrend {
			continue
		}
		for j, c := range cells[i] {
			if j == len(colw) {
				colw = append(colw, 0)
			}
			colw[j] = max(colw[j], len([]rune(c)))
		}
	}
	for i, k := range keys {
		w.WriteString(dots(labels[i], width+3) + ": ")
		for j, c := range cells[i] {
			switch {
			case j == len(cells[i])-1:
				w.WriteString(c)
			case s.Metrics[k].Type == TypeTrend:
				w.WriteString(pad(c, colw[j]+1))
			default:
				w.WriteString(pad(c, 9))
			}
		}
		w.WriteString("\n")
		if ci := intervalsLine(k, s.Metrics[k]); ci != "" {
			w.WriteString(dots("    95% intervals", width+3) + ": " + ci + "\n")
		}
	}
	w.WriteString("\n")
}

// intervalsLine is the confidence intervals of a whole metric (not of its
// sub-metrics, to keep the table short): p(90), p(95) and p(99) of a trend,
// the rate of a rate. An open side is left blank ("1.6s.." has no upper
// bound: too few samples). "" when the report has none.
func intervalsLine(key string, m Metric) string {
	if strings.Contains(key, "{") || len(m.CI95) == 0 {
		return ""
	}
	side := func(x *float64, f func(float64) string) string {
		if x == nil {
			return ""
		}
		return f(*x)
	}
	one := func(ci []*float64, f func(float64) string) string {
		if len(ci) != 2 {
			return "?"
		}
		return side(ci[0], f) + ".." + side(ci[1], f)
	}
	switch m.Type {
	case TypeTrend:
		var parts []string
		for _, q := range []struct{ key, label string }{{"p90", "p(90)"}, {"p95", "p(95)"}, {"p99", "p(99)"}} {
			if ci, ok := m.CI95[q.key]; ok {
				parts = append(parts, q.label+"="+one(ci, fmtMS))
			}
		}
		return strings.Join(parts, " ")
	case TypeRate:
		if ci, ok := m.CI95[StatRate]; ok {
			return one(ci, fmtShare)
		}
	}
	return ""
}

// metricLabel is the left column: the metric name, or its tags indented
// under it for a sub-metric.
func metricLabel(key string) string {
	name, tags, ok := strings.Cut(key, "{")
	if !ok {
		return "  " + name
	}
	return "    {" + tags
}

// metricCells are the values of one line, k6's order for trends.
func metricCells(m Metric) []string {
	switch m.Type {
	case TypeTrend:
		return []string{
			"avg=" + fmtMS(m.Avg), "min=" + fmtMS(m.Min), "med=" + fmtMS(m.Med), "max=" + fmtMS(m.Max),
			"p(90)=" + fmtMS(m.P90), "p(95)=" + fmtMS(m.P95), "p(99)=" + fmtMS(m.P99), "count=" + fmtNum(float64(m.Count)),
		}
	case TypeRate:
		return []string{fmtShare(m.Rate), fmt.Sprintf("%d out of %d", m.Hits, m.Total)}
	case TypeCounter:
		if m.Unit == "B" {
			return []string{fmtBytes(float64(m.Count)), fmtBytes(m.Rate) + "/s"}
		}
		return []string{fmtNum(float64(m.Count)), fmtNum(m.Rate) + "/s"}
	}
	return []string{"?"}
}

// writeStop says when the load stopped and how long requests in flight
// then took, when the report knows (generator.stopped_at_s).
func writeStop(w *bufio.Writer, s *Summary) {
	g := s.Generator
	if g.StoppedAtS == nil {
		return
	}
	fmt.Fprintf(w, "  load stopped at %ss, ended at %ss", fmtNum(*g.StoppedAtS), fmtNum(s.DurationS))
	if g.Cancelled > 0 {
		fmt.Fprintf(w, "; %d requests still in flight at the end of graceful_stop were cancelled", g.Cancelled)
	}
	w.WriteString("\n")
}

// writeProcess says how often the clock woke the process and how late,
// and what the process used (generator.wakeups, generator.process).
func writeProcess(w *bufio.Writer, s *Summary) {
	g := s.Generator
	if g.Wakeups > 0 && g.WakeLateP99 != nil && g.WakeLateMax != nil {
		fmt.Fprintf(w, "  clock: %d wake-ups", g.Wakeups)
		if s.DurationS > 0 {
			fmt.Fprintf(w, " (%s/s)", fmtNum(math.Round(float64(g.Wakeups)/s.DurationS)))
		}
		fmt.Fprintf(w, ", each late by p99 %s, max %s\n", fmtMS(*g.WakeLateP99), fmtMS(*g.WakeLateMax))
	}
	if p := g.Process; p != nil {
		fmt.Fprintf(w, "  process: CPU %ss", fmtNum(p.CPUS))
		if s.DurationS > 0 {
			fmt.Fprintf(w, " (%s of a core)", fmtShare(p.CPUS/s.DurationS))
		}
		fmt.Fprintf(w, ", peak RSS %s MiB; now %s MiB of the binary's pages, %s MiB anonymous (Go heap %s, stacks %s, runtime %s MiB)\n",
			fmtNum(p.PeakRSS), fmtNum(p.RSSFile), fmtNum(p.RSSAnon), fmtNum(p.HeapMiB), fmtNum(p.StacksMiB), fmtNum(p.RuntimeMiB))
	}
}

func writeHealth(w *bufio.Writer, s *Summary) {
	g := s.Generator
	if g.Planned > 0 || g.Started > 0 {
		fmt.Fprintf(w, "  generator: planned %d, started %d", g.Planned, g.Started)
		if g.AchievedRatio != nil {
			fmt.Fprintf(w, " (%s)", fmtShare(*g.AchievedRatio))
		}
		fmt.Fprintf(w, ", dropped %d", g.Dropped)
		if g.NotStarted > 0 {
			fmt.Fprintf(w, ", not started %d", g.NotStarted)
		}
		fmt.Fprintf(w, ", schedule lag p99 %s, max %s", fmtMS(g.ScheduleLagP99), fmtMS(g.ScheduleLagMax))
		if s.Plan != nil && s.Plan.SlackMS != nil && *s.Plan.SlackMS > 0 {
			fmt.Fprintf(w, " (slack %s)", fmtMS(*s.Plan.SlackMS))
		}
		if g.Clock == engine.ClockGo {
			w.WriteString(", paced by Go timers")
		}
		w.WriteString("\n")
		if g.SlotWaitMax != nil && *g.SlotWaitMax > 0 && g.SlotWaitP99 != nil {
			fmt.Fprintf(w, "  slot wait: arrivals waited for a free slot (max_in_flight full), p99 %s, max %s\n", fmtMS(*g.SlotWaitP99), fmtMS(*g.SlotWaitMax))
		}
		writeProcess(w, s)
	}
	writeStop(w, s)
	if len(s.Errors) == 0 && len(s.ErrorSamples) == 0 {
		if g.Planned > 0 || g.Started > 0 {
			w.WriteString("\n")
		}
		return
	}
	w.WriteString("  errors:\n")
	kinds := sortedKeys(s.Errors)
	for _, k := range sortedKeys(s.ErrorSamples) {
		if _, ok := s.Errors[k]; !ok {
			kinds = append(kinds, k)
		}
	}
	for _, k := range kinds {
		fmt.Fprintf(w, "    %s %d", pad(k, 12), s.Errors[k])
		if msg := s.ErrorSamples[k]; msg != "" {
			fmt.Fprintf(w, "  e.g. %q", msg)
		}
		w.WriteString("\n")
	}
	w.WriteString("\n")
}

// writeAgents writes the agents of a distributed run, one aligned line each
// (address, segment, status, requests, coverage, and why a lost one was
// lost):
//
//	agents: 2 (1 lost)
//	  127.0.0.2:7070 (lg-1)  0/2  complete  5000 requests  coverage 100.00% (2500 of 2500)
//	  127.0.0.3:7070 (lg-2)  1/2  lost      3994 requests  coverage  79.88% (1997 of 2500)  lost at 40.0 s: no heartbeat
func writeAgents(w *bufio.Writer, s *Summary, color bool) {
	if len(s.Agents) == 0 {
		return
	}
	fmt.Fprintf(w, "  agents: %d (%d lost)\n", len(s.Agents), agentsLost(s.Agents))
	type row struct{ label, seg, reqs, cov string }
	rows := make([]row, len(s.Agents))
	var lw, sw, rw, cw int
	for i, a := range s.Agents {
		r := row{agentLabel(a), a.Segment, fmtNum(float64(a.Requests)), fmtShare(a.Coverage())}
		lw, sw = max(lw, len([]rune(r.label))), max(sw, len([]rune(r.seg)))
		rw, cw = max(rw, len(r.reqs)), max(cw, len(r.cov))
		rows[i] = r
	}
	stw := len(AgentComplete)
	for _, a := range s.Agents {
		stw = max(stw, len([]rune(a.Status)))
	}
	for i, a := range s.Agents {
		r := rows[i]
		// Pad the status before coloring it: the codes take no room on screen.
		status := pad(a.Status, stw)
		if color && a.Status == AgentLost {
			status = ansiRed + a.Status + ansiReset + status[len(a.Status):]
		}
		line := fmt.Sprintf("    %s  %s  %s  %*s requests  coverage %*s (%d of %d)",
			pad(r.label, lw), pad(r.seg, sw), status, rw, r.reqs, cw, r.cov, a.Started, a.Planned)
		if loss := agentLoss(a); loss != "" {
			line += "  " + loss
		}
		w.WriteString(line + "\n")
	}
	w.WriteString("\n")
}

func writeThresholds(w *bufio.Writer, s *Summary, color bool) {
	if len(s.Thresholds) == 0 {
		return
	}
	if notRun(s.Thresholds) {
		// A run that never started has no table to show: nothing passed
		// or failed (docs/reports.md, "A run that never started").
		fmt.Fprintf(w, "  THRESHOLDS: %d not run (%s)\n\n", len(s.Thresholds), strings.TrimPrefix(s.Thresholds[0].Reason, NotRunPrefix))
		return
	}
	w.WriteString("  THRESHOLDS\n")
	kw, ew := 0, 0
	for _, t := range s.Thresholds {
		kw = max(kw, len([]rune(t.Metric)))
		ew = max(ew, len([]rune(t.Expr)))
	}
	for _, t := range s.Thresholds {
		m := markOf(t.Passed, t.Skipped, t.Undecided, t.Severity)
		fmt.Fprintf(w, "  %s %s  %s  ", m.render(color), pad(t.Metric, kw), pad(t.Expr, ew))
		switch {
		case t.Skipped:
			fmt.Fprintf(w, "skipped: %s", t.Reason)
		case t.Passed:
			w.WriteString(observedLimit(t))
		default:
			w.WriteString(t.Detail()) // detail.go: each value once
		}
		if t.Severity == "warn" {
			w.WriteString(" [warn]")
		}
		if t.Undecided && t.UndecidedAs != "" && t.UndecidedAs != "inconclusive" {
			fmt.Fprintf(w, " [counts as %s]", t.UndecidedAs)
		}
		switch {
		case t.FirstFailedAt != nil && t.Passed:
			w.WriteString(liveFailure(t))
		case t.FirstFailedAt != nil:
			fmt.Fprintf(w, "; first failed %s", *t.FirstFailedAt)
		}
		if t.Aborted {
			w.WriteString("; aborted the run")
		}
		w.WriteString("\n")
	}
	w.WriteString("\n")
}

// notRun reports whether every threshold is one of a run that never
// started.
func notRun(ts []ThresholdResult) bool {
	for _, t := range ts {
		if !t.NotRun {
			return false
		}
	}
	return len(ts) > 0
}

func writeStatus(w *bufio.Writer, s *Summary, color bool, exit int) {
	status := strings.ToUpper(string(s.Status))
	if status == "" {
		status = "UNKNOWN"
	}
	if color {
		c := ansiRed
		if s.ExitCode == 0 {
			c = ansiGreen
		}
		status = c + status + ansiReset
	}
	for _, x := range s.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", x)
	}
	if exit != 0 && exit != s.ExitCode {
		fmt.Fprintf(w, "  STATUS: %s (exit code %d by --exit-code-on-fail; the reports say exit_code %d)", status, exit, s.ExitCode)
	} else {
		fmt.Fprintf(w, "  STATUS: %s (exit code %d)", status, s.ExitCode)
	}
	if s.Aborted {
		w.WriteString(", aborted")
	}
	if s.Partial {
		w.WriteString(", partial results")
	}
	w.WriteString("\n")
	for _, r := range s.Reasons {
		fmt.Fprintf(w, "    - %s\n", r)
	}
}
