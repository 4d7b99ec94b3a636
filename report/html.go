package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/loadgate/loadgate/verdict"
)

//go:embed html.tmpl
var htmlSource string

// htmlTemplate is parsed once; html/template escapes every value by
// context, so names users wrote cannot inject markup.
var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"c":   coord,
	"add": func(a, b float64) float64 { return a + b },
	"sub": func(a, b float64) float64 { return a - b },
	"mid": func(a, b float64) float64 { return (a + b) / 2 },
}).Parse(htmlSource))

// WriteHTML writes s as one self-contained HTML page for people: the
// verdict and its reasons, key figures, SVG charts (latency percentiles,
// planned vs achieved throughput, error rate over time, the percentile
// spectrum from the HDR data), the thresholds, generator health, errors,
// the agents of a distributed run and every metric. The page loads nothing:
// styles and charts are inline and no script runs. The output is a pure
// function of s, so a saved run re-renders to the same bytes.
func WriteHTML(w io.Writer, s *Summary) error {
	var b strings.Builder
	if err := htmlTemplate.Execute(&b, htmlPageOf(s)); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	// html/template escapes markup but passes invalid UTF-8 and control
	// characters through; a page must not carry them.
	if _, err := io.WriteString(w, xmlText(b.String())); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}

// htmlPage is what the template renders.
type htmlPage struct {
	Name, Status, StatusClass string
	ExitCode                  int
	Aborted, Partial          bool
	Reasons, Warnings         []string
	Meta                      []htmlKV
	KPIs                      []htmlKPI
	// Capacity is the capacity search's section, nil for a run.
	Capacity      *htmlCapacity
	Charts        []*svgChart
	Thresholds    []htmlThreshold
	Health        []htmlKV
	Errors        []htmlError
	Agents        []htmlAgent
	AgentsLost    int
	Metrics       []htmlMetric
	Stages, Flows []string
	Footer        string
}

type htmlKV struct{ Key, Value string }

type htmlKPI struct{ Label, Value, Sub, Class string }

type htmlThreshold struct {
	Mark, Class, Metric, Expr, Observed, Limit, Severity, FirstFailed, Note string
}

// htmlAgent is one row of the agents table of a distributed run.
type htmlAgent struct {
	Addr, Name, Segment, Status, Class, Requests, Coverage, Note string
}

type htmlError struct {
	Kind, Sample string
	Count        int64
}

// htmlMetric is one row of the metrics table: Cells for a trend (avg .. max,
// count), Value for a rate or counter.
type htmlMetric struct {
	Name, Tags string
	Cells      []string
	Value      string
}

func htmlPageOf(s *Summary) htmlPage {
	p := htmlPage{
		Name: s.Scenario.Name, Status: strings.ToUpper(string(s.Status)), StatusClass: statusClass(s.Status),
		ExitCode: s.ExitCode, Aborted: s.Aborted, Partial: s.Partial,
		Reasons: s.Reasons, Warnings: s.Warnings,
	}
	if p.Name == "" {
		p.Name = "(unnamed scenario)"
	}
	if p.Status == "" {
		p.Status = "UNKNOWN"
	}
	p.Meta = htmlMeta(s)
	p.KPIs = htmlKPIs(s)
	ps := chartPoints(s.Timeseries)
	p.Capacity = htmlCapacityOf(s)
	if p.Capacity != nil && len(ps) == 0 {
		// A search's report has no time series (its steps are in the
		// capacity charts): only the spectrum of the step at the capacity.
		sp := spectrumChart(s)
		sp.Note = strings.Replace(sp.Note, "whole run", "the measurement of the step at the capacity", 1)
		p.Charts = []*svgChart{sp}
	} else {
		p.Charts = []*svgChart{latencyChart(s, ps), throughputChart(s, ps), errorChart(ps), spectrumChart(s)}
	}
	for _, t := range s.Thresholds {
		p.Thresholds = append(p.Thresholds, htmlThresholdOf(t))
	}
	p.Health = htmlHealth(s)
	for _, k := range sortedKeys(s.Errors) {
		p.Errors = append(p.Errors, htmlError{Kind: k, Count: s.Errors[k], Sample: s.ErrorSamples[k]})
	}
	for _, k := range sortedKeys(s.ErrorSamples) {
		if _, ok := s.Errors[k]; !ok {
			p.Errors = append(p.Errors, htmlError{Kind: k, Sample: s.ErrorSamples[k]})
		}
	}
	for _, a := range s.Agents {
		p.Agents = append(p.Agents, htmlAgentOf(a))
	}
	p.AgentsLost = agentsLost(s.Agents)
	for _, k := range s.Metrics.Keys() {
		p.Metrics = append(p.Metrics, htmlMetricOf(k, s.Metrics[k]))
	}
	if pl := s.Plan; pl != nil {
		from := pl.StartRate
		for _, st := range pl.Stages {
			p.Stages = append(p.Stages, fmt.Sprintf("%s → %s over %s", fmtNum(from), fmtNum(st.Target), fmtMS(st.DurationS*1000)))
			from = st.Target
		}
		for _, f := range pl.Flows {
			p.Flows = append(p.Flows, fmt.Sprintf("%s (weight %d): %s", f.Name, f.Weight, strings.Join(f.Steps, " → ")))
		}
	}
	p.Footer = strings.TrimSpace(s.Tool+" "+s.Version) + " · " + s.Schema
	return p
}

// statusClass colors the badge: green passed, red failed, amber for runs
// whose numbers are doubtful, grey for runs that did not measure.
func statusClass(status verdict.Status) string {
	switch status {
	case verdict.Passed:
		return "ok"
	case verdict.Failed:
		return "bad"
	case verdict.Inconclusive, verdict.Interrupted:
		return "warn"
	}
	return "other"
}

func htmlMeta(s *Summary) []htmlKV {
	var m []htmlKV
	add := func(k, v string) {
		if v != "" {
			m = append(m, htmlKV{k, v})
		}
	}
	if s.StartedAt != "" {
		add("run", s.StartedAt+" → "+s.EndedAt+" ("+fmtMS(s.DurationS*1000)+")")
	}
	if pl := s.Plan; pl != nil {
		model := pl.Model + " model"
		if pl.Model == "open" {
			model += ", " + pl.Arrivals + " arrivals, max " + itoa(int64(pl.MaxInFlight)) + " in flight (" + pl.Overload + ")"
		}
		if pl.SlackMS != nil {
			model += ", slack " + fmtMS(*pl.SlackMS)
		}
		add("load", model)
		if pl.Segment.Count > 1 {
			add("segment", fmt.Sprintf("%d/%d (arrivals n with n mod %d = %d)", pl.Segment.Index, pl.Segment.Count, pl.Segment.Count, pl.Segment.Index))
		}
	}
	add("scenario", s.Scenario.Path)
	if sha := s.Scenario.SHA256; sha != "" {
		add("sha256", sha)
	}
	add("tool", strings.TrimSpace(s.Tool+" "+s.Version))
	return m
}

// ciText is a trend percentile's 95% interval in words, "" without one.
func ciText(m Metric, stat string) string {
	ci, ok := m.CI95[stat]
	if !ok || len(ci) != 2 {
		return ""
	}
	side := func(x *float64) string {
		if x == nil {
			return "?"
		}
		return fmtMS(*x)
	}
	return "95%: " + side(ci[0]) + "–" + side(ci[1])
}

func orText(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

func htmlKPIs(s *Summary) []htmlKPI {
	var k []htmlKPI
	if r, ok := s.Metrics["http_reqs"]; ok {
		k = append(k, htmlKPI{"requests", fmtNum(float64(r.Count)), fmtNum(r.Rate) + "/s", ""})
	}
	if f, ok := s.Metrics["http_req_failed"]; ok {
		cls := "ok"
		if f.Hits > 0 {
			cls = "bad"
		}
		k = append(k, htmlKPI{"failed", fmtShare(f.Rate), fmt.Sprintf("%d of %d", f.Hits, f.Total), cls})
	}
	if d, ok := s.Metrics["http_req_duration"]; ok && d.Count > 0 {
		k = append(k,
			htmlKPI{"p50", fmtMS(d.P50), orText(ciText(d, "p50"), "http_req_duration"), ""},
			htmlKPI{"p95", fmtMS(d.P95), orText(ciText(d, "p95"), "http_req_duration"), ""},
			htmlKPI{"p99", fmtMS(d.P99), orText(ciText(d, "p99"), "max "+fmtMS(d.Max)), ""})
	}
	if st, ok := s.Metrics["http_req_service_time"]; ok && st.Count > 0 {
		k = append(k, htmlKPI{"service p99", fmtMS(st.P99), "uncorrected", ""})
	}
	if r := s.Generator.AchievedRatio; r != nil {
		cls := "ok"
		if *r < 0.95 {
			cls = "warn"
		}
		k = append(k, htmlKPI{"achieved", fmtShare(*r), fmt.Sprintf("%d of %d planned", s.Generator.Started, s.Generator.Planned), cls})
	}
	if n := len(s.Thresholds); n > 0 && notRun(s.Thresholds) {
		// docs/reports.md, "A run that never started": no score to show.
		k = append(k, htmlKPI{"thresholds", "not run", fmt.Sprintf("%d, %s", n, strings.TrimPrefix(s.Thresholds[0].Reason, NotRunPrefix)), ""})
	} else if n > 0 {
		passed, failed := 0, 0
		for _, t := range s.Thresholds {
			switch {
			case t.Passed && !t.Skipped:
				passed++
			case !t.Passed && !t.Skipped && t.Severity != "warn":
				failed++
			}
		}
		cls := "ok"
		if failed > 0 {
			cls = "bad"
		}
		k = append(k, htmlKPI{"thresholds", fmt.Sprintf("%d/%d", passed, n), fmt.Sprintf("%d failed", failed), cls})
	}
	return k
}

func htmlThresholdOf(t ThresholdResult) htmlThreshold {
	m := markOf(t.Passed, t.Skipped, t.Undecided, t.Severity)
	h := htmlThreshold{
		Mark:     [...]string{"✓ pass", "✗ fail", "! warn", "– skip", "· wait", "? unsure"}[m],
		Class:    [...]string{"ok", "bad", "warn", "other", "other", "warn"}[m],
		Metric:   t.Metric,
		Expr:     t.Expr,
		Severity: t.Severity,
		Note:     t.note(),
	}
	if !t.Skipped && !t.NoData {
		h.Observed, h.Limit = thresholdValues(t) // detail.go
		if op := exprOp(t.Expr); op != "" {
			h.Limit = op + " " + h.Limit
		}
	}
	if t.NoData && h.Note == "" {
		h.Note = "no data"
	}
	switch {
	case t.FirstFailedAt != nil && t.Passed:
		// A pass row never says "first failed": the note says it failed
		// live and held at the end.
		h.Note = strings.TrimPrefix(h.Note+liveFailure(t), "; ")
	case t.FirstFailedAt != nil:
		h.FirstFailed = *t.FirstFailedAt
	}
	if t.Aborted {
		h.Note = strings.TrimPrefix(h.Note+"; aborted the run", "; ")
	}
	return h
}

func htmlHealth(s *Summary) []htmlKV {
	g := s.Generator
	if g.Planned == 0 && g.Started == 0 {
		return nil
	}
	h := []htmlKV{
		{"planned arrivals", fmtNum(float64(g.Planned))},
		{"started", fmtNum(float64(g.Started))},
	}
	if g.AchievedRatio != nil {
		h = append(h, htmlKV{"achieved", fmtShare(*g.AchievedRatio)})
	}
	if g.PlannedTotal > 0 && g.PlannedTotal != g.Planned {
		h = append(h, htmlKV{"planned for the whole profile", fmtNum(float64(g.PlannedTotal))})
	}
	h = append(h, htmlKV{"dropped (no free slot)", fmtNum(float64(g.Dropped))})
	if g.NotStarted > 0 {
		h = append(h, htmlKV{"not started", fmtNum(float64(g.NotStarted))})
	}
	h = append(h,
		htmlKV{"schedule lag p99", fmtMS(g.ScheduleLagP99)},
		htmlKV{"schedule lag max", fmtMS(g.ScheduleLagMax)})
	if g.SlotWaitMax != nil && *g.SlotWaitMax > 0 && g.SlotWaitP99 != nil {
		h = append(h, htmlKV{"slot wait p99", fmtMS(*g.SlotWaitP99)}, htmlKV{"slot wait max", fmtMS(*g.SlotWaitMax)})
	}
	if g.StoppedAtS != nil {
		h = append(h, htmlKV{"load stopped at", fmtNum(*g.StoppedAtS) + " s"}, htmlKV{"ended at", fmtNum(s.DurationS) + " s"})
	}
	if g.Cancelled > 0 {
		h = append(h, htmlKV{"cancelled at graceful_stop", fmtNum(float64(g.Cancelled))})
	}
	return h
}

func htmlAgentOf(a Agent) htmlAgent {
	h := htmlAgent{
		Addr: a.Addr, Name: a.Name, Segment: a.Segment, Status: a.Status, Class: "ok",
		Requests: fmtNum(float64(a.Requests)), Coverage: agentCoverage(a), Note: agentLoss(a),
	}
	switch {
	case a.Status == AgentLost:
		h.Class = "bad"
	case a.Status != AgentComplete:
		h.Class = "other"
	}
	return h
}

func htmlMetricOf(key string, m Metric) htmlMetric {
	name, tags, _ := strings.Cut(key, "{")
	h := htmlMetric{Name: name}
	if tags != "" {
		h.Name, h.Tags = "", "{"+tags
	}
	switch m.Type {
	case TypeTrend:
		h.Cells = []string{fmtMS(m.Avg), fmtMS(m.Min), fmtMS(m.Med), fmtMS(m.P90), fmtMS(m.P95), fmtMS(m.P99), fmtMS(m.P999), fmtMS(m.Max), fmtNum(float64(m.Count))}
	case TypeRate:
		h.Value = fmt.Sprintf("%s — %d out of %d", fmtShare(m.Rate), m.Hits, m.Total)
	case TypeCounter:
		if m.Unit == "B" {
			h.Value = fmtBytes(float64(m.Count)) + " — " + fmtBytes(m.Rate) + "/s"
		} else {
			h.Value = fmtNum(float64(m.Count)) + " — " + fmtNum(m.Rate) + "/s"
		}
	}
	return h
}
