package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/loadgate/loadgate/verdict"
)

// RunRef names one of the two runs of a Comparison.
type RunRef struct {
	Path      string         `json:"path,omitempty"` // set by the caller
	Scenario  string         `json:"scenario"`
	Status    verdict.Status `json:"status"`
	StartedAt string         `json:"started_at"`
}

func refOf(s *Summary) RunRef {
	return RunRef{Scenario: s.Scenario.Name, Status: s.Status, StartedAt: s.StartedAt}
}

// WriteCompareJSON writes c as indented JSON.
func WriteCompareJSON(w io.Writer, c *Comparison) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	e.SetEscapeHTML(false)
	if err := e.Encode(c); err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	return nil
}

// WriteCompareText writes c as an aligned table, one row per statistic,
// the regressions marked, then the notes and the result with every
// regression in words.
func WriteCompareText(w io.Writer, c *Comparison, color bool) error {
	bw := bufio.NewWriter(w)
	for _, r := range []struct {
		label string
		ref   RunRef
	}{{"base", c.Base}, {"new ", c.New}} {
		var about []string
		for _, x := range []string{r.ref.Scenario, r.ref.StartedAt, string(r.ref.Status)} {
			if x != "" {
				about = append(about, x)
			}
		}
		fmt.Fprintf(bw, "  %s  %s  (%s)\n", r.label, r.ref.Path, strings.Join(about, ", "))
	}
	bw.WriteString("\n")
	head := []string{"METRIC", "STAT", "BASE", "NEW", "DELTA", "CHANGE", "LIMIT", ""}
	if c.Confidence > 0 {
		head = []string{"METRIC", "STAT", "BASE", "NEW", "DELTA", "CHANGE", "NOISE", "P", "LIMIT", ""}
	}
	cells := [][]string{head}
	noise := 0
	for _, r := range c.Rows {
		change := "n/a"
		if r.Change != nil {
			change = signed(trimFloat(*r.Change*100, 1)) + "%"
		}
		base := fmtStat(r.Base, r.Unit) + fmtCI(r.BaseCI, r.Unit)
		next, delta := fmtStat(r.New, r.Unit)+fmtCI(r.NewCI, r.Unit), fmtDelta(r.Delta, r.Unit)
		if r.NoData {
			next, delta = "no data", "n/a"
		}
		row := []string{r.Metric, r.Stat, base, next, delta, change}
		if c.Confidence > 0 {
			noise, p := "", ""
			if r.Spread != nil {
				noise = "±" + strings.TrimPrefix(fmtDelta(*r.Spread, r.Unit), "+")
			}
			if r.PValue != nil {
				p = fmtP(*r.PValue)
			}
			row = append(row, noise, p)
		}
		if r.Noise {
			noise++
		}
		cells = append(cells, append(row, r.Limit, verdictOf(r, color)))
	}
	writeTable(bw, cells)
	bw.WriteString("\n")
	for _, n := range c.Notes {
		fmt.Fprintf(bw, "  note: %s\n", n)
	}
	if c.Confidence > 0 {
		fmt.Fprintf(bw, "  [low..high]: %s%% intervals. NOISE: the change two runs of one build show at that confidence; limits under it flag noise.\n  P: the chance of a difference this large between two runs of one build.\n  A change past its limit is noise, not a regression, when its intervals overlap (percentiles) or P >= %s.\n",
			trimFloat(c.Confidence*100, 2), trimFloat(1-c.Confidence, 3))
	}
	if c.Passed {
		res := "PASSED"
		if color {
			res = ansiGreen + res + ansiReset
		}
		within := ""
		if noise > 0 {
			within = fmt.Sprintf("; %d change(s) past their limits are within noise", noise)
		}
		fmt.Fprintf(bw, "  RESULT: %s: no regression (rules: %s%s)\n", res, strings.Join(c.Rules, ", "), within)
		writeNoise(bw, c)
	} else {
		res := "REGRESSION"
		if color {
			res = ansiRed + res + ansiReset
		}
		fmt.Fprintf(bw, "  RESULT: %s: %d regression(s) (rules: %s)\n", res, len(c.Regressions), strings.Join(c.Rules, ", "))
		for _, r := range c.Regressions {
			fmt.Fprintf(bw, "    - %s\n", r.Message)
		}
		writeNoise(bw, c)
	}
	return bw.Flush()
}

// writeNoise lists the changes past their limits that are not regressions.
func writeNoise(bw *bufio.Writer, c *Comparison) {
	for _, r := range c.Rows {
		if r.Noise {
			fmt.Fprintf(bw, "    ~ %s\n", r.Message)
		}
	}
}

func verdictOf(r Row, color bool) string {
	switch {
	case r.Regression && color:
		return ansiRed + "REGRESSION" + ansiReset
	case r.Regression:
		return "REGRESSION"
	case r.Noise:
		return "noise"
	case r.Bound != nil:
		return "ok"
	}
	return ""
}

// fmtCI is " [lo..hi]" in unit, an open side left blank; "" without an
// interval.
func fmtCI(ci []*float64, unit string) string {
	if len(ci) != 2 {
		return ""
	}
	side := func(x *float64) string {
		if x == nil {
			return ""
		}
		return fmtStat(*x, unit)
	}
	return " [" + side(ci[0]) + ".." + side(ci[1]) + "]"
}

// fmtP is a p-value with two significant digits, never in e-notation.
func fmtP(p float64) string {
	if p < 0.0001 {
		return "<0.0001"
	}
	return strconv.FormatFloat(p, 'f', -1, 64)[:min(len(strconv.FormatFloat(p, 'f', -1, 64)), 6)]
}

// writeTable left-aligns columns on the width of their widest visible cell
// (ANSI codes do not count) and trims trailing blanks.
func writeTable(w *bufio.Writer, cells [][]string) {
	var widths []int
	for _, row := range cells {
		for i, c := range row {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len([]rune(stripANSI(c))))
		}
	}
	for _, row := range cells {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range row {
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len([]rune(stripANSI(c)))+2))
			}
		}
		w.WriteString(strings.TrimRight(b.String(), " "))
		w.WriteString("\n")
	}
}

func stripANSI(s string) string {
	for {
		i := strings.Index(s, "\x1b[")
		if i < 0 {
			return s
		}
		j := strings.IndexByte(s[i:], 'm')
		if j < 0 {
			return s
		}
		s = s[:i] + s[i+j+1:]
	}
}

// fmtStat formats a row value in its unit.
func fmtStat(v float64, unit string) string {
	switch unit {
	case "ms":
		return fmtMS(v)
	case "share":
		return fmtShare(v)
	case "B":
		return fmtBytes(v)
	case "B/s":
		return fmtBytes(v) + "/s"
	case "/s":
		return fmtNum(v) + "/s"
	}
	return fmtNum(v)
}

// fmtDelta formats a change with its sign; a share's change is in
// percentage points.
func fmtDelta(v float64, unit string) string {
	if v == 0 {
		return "0"
	}
	sign := "+"
	if v < 0 {
		sign, v = "-", -v
	}
	if unit == "share" {
		return sign + trimFloat(v*100, 2) + "pp"
	}
	return sign + fmtStat(v, unit)
}

func signed(s string) string {
	if strings.HasPrefix(s, "-") || s == "0" {
		return s
	}
	return "+" + s
}
