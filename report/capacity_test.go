package report

import (
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// TestCapacityGolden: the text, JSON and JUnit reports of a capacity
// search (issue 18; docs/capacity.md, "Reports").
func TestCapacityGolden(t *testing.T) {
	s := Build(capacityRun(t))
	var txt, js, ju bytes.Buffer
	if err := WriteText(&txt, s, false); err != nil {
		t.Fatal(err)
	}
	golden(t, "capacity.txt", txt.Bytes())
	if err := WriteJSON(&js, s); err != nil {
		t.Fatal(err)
	}
	golden(t, "capacity.json", js.Bytes())
	if err := WriteJUnit(&ju, s); err != nil {
		t.Fatal(err)
	}
	golden(t, "capacity.junit.xml", ju.Bytes())
	checkJUnit(t, ju.Bytes())
	validateXSD(t, ju.Bytes())
}

// TestCapacityHTML: the capacity section of the HTML report (issue 18):
// the answer, the knee chart with the SLO's latency limits and the answer
// marked, the error and achieved-rate charts, the steps' table; a
// self-contained page that renders the same from the saved JSON.
func TestCapacityHTML(t *testing.T) {
	s := Build(capacityRun(t))
	b := htmlOf(t, s)
	golden(t, "capacity.html", b)
	checkSelfContained(t, b)
	for _, want := range []string{
		`<p class="answer ok">703/s (the SLO breaks at 734/s; within 4.41%); requirement 700/s: met`,
		`id="knee"`, `id="capacity-errors"`, `id="capacity-achieved"`, `id="capacity-steps"`, `id="spectrum"`,
		`class="card chart wide" id="knee"`,
		`aria-label="Capacity: latency against offered rate"`,
		`text-anchor="end">capacity 703/s</text>`, `>first failing 734/s</text>`, `>required 700/s</text>`,
		`>p(95) &lt; 30ms</text>`, `>p(99) &lt; 50ms</text>`, `>rate &lt; 1%</text>`, // the limits, escaped
		`<title>step 4 at 800/s: p99 840.19ms (95%: `, `fail (aborted early)</title>`,
		`values above 200ms are drawn at the top edge`,
		`<span class="pill warn">undecided</span>`, `<span class="pill bad">fail (aborted early)</span>`,
		`offered (y = x)`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("HTML lacks %s", want)
		}
	}
	// Three markers per step on the knee, one each on the other two.
	for class, n := range map[string]int{"v-ok": 6 * 5, "v-bad": 2 * 5, "v-warn": 1 * 5} {
		if got := bytes.Count(b, []byte(`<circle class="mk `+class+`"`)); got != n {
			t.Errorf("%d %s markers, want %d", got, class, n)
		}
	}
	// Run charts without a time series are left out of a search's page.
	for _, id := range []string{`id="latency"`, `id="throughput"`, `id="errors"`} {
		if bytes.Contains(b, []byte(id)) {
			t.Errorf("a search's page has the run chart %s", id)
		}
	}
	path := filepath.Join(t.TempDir(), "capacity.json")
	if err := WriteFileAtomic(path, func(w io.Writer) error { return WriteJSON(w, s) }); err != nil {
		t.Fatal(err)
	}
	saved, err := ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if again := htmlOf(t, saved); !bytes.Equal(again, b) {
		d := firstDiff(b, again)
		t.Fatalf("the page of the saved search differs at byte %d:\nlive:  %q\nsaved: %q", d, around(b, d), around(again, d))
	}
}

// TestCapacityHTMLHostile: text in the capacity section is escaped.
func TestCapacityHTMLHostile(t *testing.T) {
	s := Build(capacityRun(t))
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>"'&`
	s.Capacity.Ended = evil
	s.Capacity.Steps[3].Broken = append(s.Capacity.Steps[3].Broken, evil)
	s.Thresholds[0].Expr = "p(95) < 30ms" + evil
	b := htmlOf(t, s)
	for _, bad := range []string{"<script", "<img"} {
		if bytes.Contains(b, []byte(bad)) {
			t.Errorf("HTML contains raw %q", bad)
		}
	}
	checkSelfContained(t, b)
}

// TestCapacityHTMLNoMeasurement: a search whose steps measured nothing
// says so in each chart.
func TestCapacityHTMLNoMeasurement(t *testing.T) {
	s := Build(capacityRun(t))
	for i := range s.Capacity.Steps {
		s.Capacity.Steps[i].Requests = 0
	}
	b := htmlOf(t, s)
	if n := bytes.Count(b, []byte(`>no step measured anything</text>`)); n != 3 {
		t.Errorf("%d empty capacity charts, want 3", n)
	}
}

// TestCapacityHTMLAnswers: the answer's colour and the marks of the other
// outcomes of a search: a requirement missed, the generator's limit, no
// rate passing.
func TestCapacityHTMLAnswers(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	no := false
	for _, tc := range []struct {
		name  string
		edit  func(c *Capacity)
		class string
		marks []string // labels of the knee chart's vertical lines
	}{
		{"requirement met", func(c *Capacity) {}, "ok", []string{"capacity 703/s", "first failing 734/s", "required 700/s"}},
		{"requirement missed", func(c *Capacity) { c.Requirement = &Requirement{MinRate: 720, Met: &no} }, "bad",
			[]string{"capacity 703/s", "first failing 734/s", "required 720/s"}},
		{"no requirement", func(c *Capacity) { c.Requirement = nil }, "other", []string{"capacity 703/s", "first failing 734/s"}},
		{"generator-limited", func(c *Capacity) {
			c.Requirement, c.FirstFailing, c.Precision, c.AtLeast = nil, nil, nil, true
			c.LimitedAt, c.LimitedBy = f(734), "achieved 80% of the planned arrivals"
		}, "warn", []string{"capacity ≥ 703/s", "generator limit 734/s"}},
		{"none passed", func(c *Capacity) { c.Requirement, c.Capacity, c.Precision = nil, 0, nil }, "bad", []string{"first failing 734/s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Build(capacityRun(t))
			tc.edit(s.Capacity)
			h := htmlCapacityOf(s)
			if h.AnswerClass != tc.class {
				t.Errorf("answer class %s, want %s (%s)", h.AnswerClass, tc.class, h.Answer)
			}
			var marks []string
			for _, m := range h.Charts[0].Marks {
				marks = append(marks, m.Label)
				if m.TextX < h.Charts[0].X0 || m.TextX > h.Charts[0].W {
					t.Errorf("mark %s labelled outside the chart at x %v", m.Label, m.TextX)
				}
			}
			if strings.Join(marks, "|") != strings.Join(tc.marks, "|") {
				t.Errorf("marks %q, want %q", marks, tc.marks)
			}
			checkSelfContained(t, htmlOf(t, s))
		})
	}
}
