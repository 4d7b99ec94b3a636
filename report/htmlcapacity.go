package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// The capacity section of the HTML report (docs/capacity.md, "Reports"):
// the answer, the knee chart (latency percentiles of every step against
// the offered rate, with the SLO's limits and the answer marked), the error
// rate and the achieved rate against the offered rate, and the steps'
// table. Like the other charts, each is a pure function of the Summary.

// htmlCapacity is what the template renders of Summary.Capacity.
type htmlCapacity struct {
	Answer, AnswerClass, Search string
	Charts                      []*svgChart
	Steps                       []htmlCapacityStep
}

// htmlCapacityStep is a row of the steps' table: the text table's columns.
type htmlCapacityStep struct {
	Step                                  int
	Rate, Achieved, P50, P95, P99, Errors string
	Verdict, Class, Note                  string
	CI50, CI95, CI99                      string
}

// Geometry of the knee chart, which spans the page's width.
const (
	kneeW = 1140
	kneeH = 320
)

// capacityLatencyCap: with latency limits, the knee chart's y axis ends at
// this many times the largest one; a step far past the knee is drawn at
// the top edge (its marker's title says its value), so that the steps
// around the limits keep their resolution.
const capacityLatencyCap = 4

func htmlCapacityOf(s *Summary) *htmlCapacity {
	c := s.Capacity
	if c == nil {
		return nil
	}
	h := &htmlCapacity{
		Answer: CapacityAnswer(c), AnswerClass: capacityClass(c),
		Search: fmt.Sprintf("search %s/s .. %s/s, precision %s, steps of %s (warm-up %s)",
			fmtNum(c.Search.From), fmtNum(c.Search.Max), fmtShare(c.Search.Precision), fmtSeconds(c.Search.StepS), fmtSeconds(c.Search.WarmupS)),
	}
	for _, st := range c.Steps {
		row := htmlCapacityStep{
			Step: st.Index + 1, Rate: fmtNum(st.Rate) + "/s", Achieved: fmtNum(st.Achieved) + "/s",
			P50: fmtMS(st.P50), P95: fmtMS(st.P95), P99: fmtMS(st.P99), Errors: fmtShare(st.ErrorRate),
			Verdict: st.Verdict, Class: verdictClass(st.Verdict),
			CI50: stepCIText(st, "p50"), CI95: stepCIText(st, "p95"), CI99: stepCIText(st, "p99"),
		}
		if st.Aborted {
			row.Verdict += " (aborted early)"
		}
		row.Note = strings.Join(append(append([]string{}, st.Broken...), st.Health...), "; ")
		h.Steps = append(h.Steps, row)
	}
	h.Charts = []*svgChart{kneeChart(s), capacityErrorChart(s), capacityAchievedChart(s)}
	return h
}

// capacityClass colours the answer: green for a requirement met, red for
// one missed or an SLO that holds at no rate, amber for an answer that is
// a bound or none; neutral for a capacity found without a requirement.
func capacityClass(c *Capacity) string {
	switch r := c.Requirement; {
	case r != nil && r.Met != nil && *r.Met:
		return "ok"
	case r != nil && r.Met != nil:
		return "bad"
	case c.Capacity == 0 && c.FirstFailing != nil:
		return "bad"
	case c.Capacity == 0 || c.AtLeast || c.LimitedAt != nil || r != nil:
		return "warn"
	}
	return "other"
}

// verdictClass colours a step's verdict: pass green, fail red, undecided
// and generator-limited amber.
func verdictClass(v string) string {
	switch v {
	case "pass":
		return "ok"
	case "fail":
		return "bad"
	}
	return "warn"
}

// stepCIText is a step percentile's 95% interval in words, "" without one.
func stepCIText(st CapacityStep, q string) string {
	ci, ok := st.CI95[q]
	if !ok || len(ci) != 2 {
		return ""
	}
	side := func(x *float64) string {
		if x == nil {
			return "?"
		}
		return fmtMS(*x)
	}
	return side(ci[0]) + "–" + side(ci[1])
}

// byRate returns the steps that measured something, sorted by offered
// rate (then as they ran), and for the lines the last of the steps at each
// rate (a retried rate's longer measurement).
func byRate(c *Capacity) (all, line []CapacityStep) {
	for _, st := range c.Steps {
		if st.Requests > 0 {
			all = append(all, st)
		}
	}
	slices.SortStableFunc(all, func(a, b CapacityStep) int { return cmp.Compare(a.Rate, b.Rate) })
	for i, st := range all {
		if i+1 < len(all) && all[i+1].Rate == st.Rate {
			continue
		}
		line = append(line, st)
	}
	return all, line
}

// rateAxis is the offered-rate axis of the capacity charts: from 0 to a
// round rate above every step and mark.
func rateAxis(c *svgChart, cp *Capacity) axis {
	top := 0.0
	for _, st := range cp.Steps {
		top = math.Max(top, st.Rate)
	}
	for _, m := range capacityMarks(cp) {
		top = math.Max(top, m.rate)
	}
	// A tenth of room on the right, for the last step's marker and the
	// labels of the marks near it.
	top, ticks := niceTicks(1.1*top, 8)
	return axis{min: 0, max: top, from: c.X0, to: c.X1, ticks: ticks, tickFormat: fmtAxisNum}
}

type capacityMark struct {
	rate         float64
	label, class string
	row          int  // label row from the top
	left         bool // label left of the line
}

// capacityMarks are the answer's rates, drawn as vertical lines: the
// capacity, the first failing rate, the requirement and the generator's
// limit. Labels of rates close together go on either side of their lines
// and on two rows.
func capacityMarks(c *Capacity) []capacityMark {
	var m []capacityMark
	if c.Capacity > 0 {
		label := "capacity " + fmtNum(c.Capacity) + "/s"
		if c.AtLeast {
			label = "capacity ≥ " + fmtNum(c.Capacity) + "/s"
		}
		m = append(m, capacityMark{c.Capacity, label, "ok", 0, true})
	}
	if c.FirstFailing != nil {
		m = append(m, capacityMark{*c.FirstFailing, "first failing " + fmtNum(*c.FirstFailing) + "/s", "bad", 0, false})
	}
	if r := c.Requirement; r != nil {
		m = append(m, capacityMark{r.MinRate, "required " + fmtNum(r.MinRate) + "/s", "other", 1, true})
	}
	if c.LimitedAt != nil {
		m = append(m, capacityMark{*c.LimitedAt, "generator limit " + fmtNum(*c.LimitedAt) + "/s", "warn", 1, false})
	}
	return m
}

func (c *svgChart) addMarks(cp *Capacity, ax axis) {
	for _, m := range capacityMarks(cp) {
		x := ax.pos(m.rate)
		// A label that would leave the plot goes to the other side of its
		// line, two rows down (clear of the labels on that side).
		w := markLabelWidth * float64(utf8.RuneCountInString(m.label))
		left, row := m.left, m.row
		if !left && x+4+w > c.W-4 {
			left, row = true, row+2
		} else if left && x-4-w < c.X0 {
			left, row = false, row+2
		}
		mk := svgMark{X: x, TextX: x + 4, TextY: c.Y0 + 12 + 13*float64(row), Anchor: "start", Label: m.label, Class: m.class}
		if left {
			mk.TextX, mk.Anchor = x-4, "end"
		}
		c.Marks = append(c.Marks, mk)
	}
}

// markLabelWidth is about the width of a character of a mark's label
// (10.5 px, semi-bold), in viewBox units.
const markLabelWidth = 5.8

// stepTitle is a marker's tooltip: the step, its rate, the value and the
// verdict.
func stepTitle(st CapacityStep, what, value string) string {
	t := fmt.Sprintf("step %d at %s/s: %s %s", st.Index+1, fmtNum(st.Rate), what, value)
	if st.Aborted {
		return t + ", " + st.Verdict + " (aborted early)"
	}
	return t + ", " + st.Verdict
}

// kneeChart plots p50, p95 and p99 of every step against its offered
// rate, with 95% intervals as error bars, the latency limits of the
// thresholds as dashed rules and the answer's rates as vertical lines;
// each marker is coloured by its step's verdict.
func kneeChart(s *Summary) *svgChart {
	cp := s.Capacity
	c := newChart("knee", "Capacity: latency against offered rate")
	c.W, c.H, c.X1, c.Y1, c.Wide = kneeW, kneeH, kneeW-chartRight, kneeH-chartBottom, true
	c.Note = "http_req_duration of each step's measurement (warm-up left out); bars: 95% intervals; markers: the step's verdict"
	all, line := byRate(cp)
	if len(all) == 0 {
		c.Empty = "no step measured anything"
		return c
	}
	var limits []ThresholdResult
	seen := map[string]bool{}
	maxLimit := 0.0
	for _, t := range s.Thresholds {
		if t.Metric != "http_req_duration" || t.Unit != "ms" || t.Skipped || t.Limit <= 0 || !strings.HasPrefix(t.Expr, "p(") || seen[t.Expr] {
			continue
		}
		seen[t.Expr] = true
		limits = append(limits, t)
		maxLimit = math.Max(maxLimit, t.Limit)
	}
	top := maxLimit
	for _, st := range all {
		top = math.Max(top, st.P99)
	}
	if maxLimit > 0 && top > capacityLatencyCap*maxLimit {
		top = capacityLatencyCap * maxLimit
		c.Note += "; values above " + fmtMS(top) + " are drawn at the top edge"
	}
	ax := rateAxis(c, cp)
	ay := c.yAxis(top, fmtAxisMS)
	clip := func(v float64) float64 { return math.Min(v, ay.max) }
	xs := make([]float64, len(line))
	for i, st := range line {
		xs[i] = st.Rate
	}
	for _, q := range []struct {
		name, class, key string
		f                func(CapacityStep) float64
	}{
		{"p50", "c-p50", "p50", func(st CapacityStep) float64 { return st.P50 }},
		{"p95", "c-p95", "p95", func(st CapacityStep) float64 { return st.P95 }},
		{"p99", "c-p99", "p99", func(st CapacityStep) float64 { return st.P99 }},
	} {
		ys := make([]float64, len(line))
		for i, st := range line {
			ys[i] = clip(q.f(st))
		}
		sr := svgSeries{Name: q.name, Class: q.class, D: pathOf(xs, ys, ax, ay)}
		var bars strings.Builder
		for _, st := range all {
			ci, ok := st.CI95[q.key]
			if !ok || len(ci) != 2 {
				continue
			}
			lo, hi := 0.0, ay.max
			if ci[0] != nil {
				lo = clip(*ci[0])
			}
			if ci[1] != nil {
				hi = clip(*ci[1])
			}
			x, ylo, yhi := ax.pos(st.Rate), ay.pos(lo), ay.pos(hi)
			if bars.Len() > 0 {
				bars.WriteByte(' ')
			}
			fmt.Fprintf(&bars, "M%s,%s L%s,%s M%s,%s L%s,%s M%s,%s L%s,%s",
				coord(x), coord(ylo), coord(x), coord(yhi),
				coord(x-3), coord(ylo), coord(x+3), coord(ylo),
				coord(x-3), coord(yhi), coord(x+3), coord(yhi))
		}
		sr.Bars = bars.String()
		c.Series = append(c.Series, sr)
		for _, st := range all {
			v := q.f(st)
			value := fmtMS(v)
			if ci := stepCIText(st, q.key); ci != "" {
				value += " (95%: " + ci + ")"
			}
			c.Markers = append(c.Markers, svgMarker{X: ax.pos(st.Rate), Y: ay.pos(clip(v)), Class: verdictMarker(st.Verdict),
				Title: stepTitle(st, q.name, value)})
		}
	}
	for _, t := range limits {
		c.Rules = append(c.Rules, svgRule{Y: ay.pos(t.Limit), Label: t.Expr})
	}
	c.addMarks(cp, ax)
	c.XTicks, c.YTicks = ax.svgTicks(), ay.svgTicks()
	c.XLabel, c.YLabel = "offered rate (/s)", "ms"
	return c
}

func verdictMarker(v string) string { return "v-" + verdictClass(v) }

// capacityErrorChart plots every step's error rate against its offered
// rate, with the limits of the thresholds on http_req_failed.
func capacityErrorChart(s *Summary) *svgChart {
	cp := s.Capacity
	c := newChart("capacity-errors", "Capacity: error rate against offered rate")
	c.Note = "share of each step's requests that failed (http_req_failed)"
	all, line := byRate(cp)
	if len(all) == 0 {
		c.Empty = "no step measured anything"
		return c
	}
	top := 1.0
	for _, st := range all {
		top = math.Max(top, 100*st.ErrorRate)
	}
	var limits []ThresholdResult
	seen := map[string]bool{}
	for _, t := range s.Thresholds {
		if t.Metric != "http_req_failed" || t.Skipped || t.Limit <= 0 || t.Limit > 1 || !strings.HasPrefix(t.Expr, "rate") || seen[t.Expr] {
			continue
		}
		seen[t.Expr] = true
		limits = append(limits, t)
		top = math.Max(top, 100*t.Limit)
	}
	ax := rateAxis(c, cp)
	ay := c.yAxis(top, fmtAxisPercent)
	xs, ys := make([]float64, len(line)), make([]float64, len(line))
	for i, st := range line {
		xs[i], ys[i] = st.Rate, 100*st.ErrorRate
	}
	c.Series = []svgSeries{{Name: "errors", Class: "c-err", D: pathOf(xs, ys, ax, ay)}}
	for _, st := range all {
		c.Markers = append(c.Markers, svgMarker{X: ax.pos(st.Rate), Y: ay.pos(100 * st.ErrorRate), Class: verdictMarker(st.Verdict),
			Title: stepTitle(st, "errors", fmtShare(st.ErrorRate))})
	}
	for _, t := range limits {
		c.Rules = append(c.Rules, svgRule{Y: ay.pos(100 * t.Limit), Label: t.Expr})
	}
	c.addMarks(cp, ax)
	c.XTicks, c.YTicks = ax.svgTicks(), ay.svgTicks()
	c.XLabel, c.YLabel = "offered rate (/s)", "%"
	return c
}

// capacityAchievedChart plots every step's achieved rate against its
// offered rate on the same scale, with the diagonal y = x: a step below
// the diagonal started fewer arrivals than it offered.
func capacityAchievedChart(s *Summary) *svgChart {
	cp := s.Capacity
	c := newChart("capacity-achieved", "Capacity: achieved against offered rate")
	c.Note = "iterations started per second of each step's measurement; dashed: achieved = offered"
	all, line := byRate(cp)
	if len(all) == 0 {
		c.Empty = "no step measured anything"
		return c
	}
	ax := rateAxis(c, cp)
	top := ax.max
	for _, st := range all {
		top = math.Max(top, st.Achieved)
	}
	ay := c.yAxis(top, fmtAxisNum)
	// The same scale on both axes, so that the diagonal is y = x.
	ax.max, ax.ticks = ay.max, ay.ticks
	xs, ys := make([]float64, len(line)), make([]float64, len(line))
	for i, st := range line {
		xs[i], ys[i] = st.Rate, st.Achieved
	}
	c.Series = []svgSeries{
		{Name: "achieved", Class: "c-rps", D: pathOf(xs, ys, ax, ay)},
		{Name: "offered (y = x)", Class: "c-plan", Dashed: true, D: pathOf([]float64{0, ay.max}, []float64{0, ay.max}, ax, ay)},
	}
	for _, st := range all {
		c.Markers = append(c.Markers, svgMarker{X: ax.pos(st.Rate), Y: ay.pos(st.Achieved), Class: verdictMarker(st.Verdict),
			Title: stepTitle(st, "achieved", fmtNum(st.Achieved)+"/s")})
	}
	c.addMarks(cp, ax)
	c.XTicks, c.YTicks = ax.svgTicks(), ay.svgTicks()
	c.XLabel, c.YLabel = "offered rate (/s)", "/s"
	return c
}
