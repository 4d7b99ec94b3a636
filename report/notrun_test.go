package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/loadgate/loadgate/report/schema"
)

// notStartedRun is the synthetic run's scenario when its preflight failed:
// the evaluator was built (its thresholds exist, pending), nothing ran.
func notStartedRun(t testing.TB) Run {
	r := testRun(t)
	for i := range r.Thresholds {
		r.Thresholds[i].Passed, r.Thresholds[i].Pending, r.Thresholds[i].Reason = false, true, "no data"
	}
	return Run{
		Tool: r.Tool, Version: r.Version, Scenario: r.Scenario, Plan: r.Plan,
		Started: t0, Ended: t0.Add(3 * time.Millisecond), Thresholds: r.Thresholds,
		Status: "preflight_failed", NotStarted: true,
		Reasons: []string{"preflight: http://127.0.0.1:1: refused: connect: connection refused"},
	}
}

// TestNotStartedGolden (issue 15 item 5): the thresholds of a run that never
// started are skipped with the reason "not run: STATUS" in the JSON
// (schema-valid), <skipped message="not run: preflight failed"> in JUnit,
// one "not run" line instead of a table of failures in the text, and
// "not run" in the HTML page's thresholds box and notes.
func TestNotStartedGolden(t *testing.T) {
	s := Build(notStartedRun(t))
	for _, th := range s.Thresholds {
		if !th.Skipped || th.Passed || th.NoData || th.FirstFailedAt != nil || th.Reason != "not run: preflight failed" || !th.NotRun {
			t.Errorf("threshold %+v: want skipped, reason %q", th, "not run: preflight failed")
		}
	}
	var j, txt, x bytes.Buffer
	if err := WriteJSON(&j, s); err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(j.Bytes()); err != nil {
		t.Error(err)
	}
	if err := WriteText(&txt, s, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteJUnit(&x, s); err != nil {
		t.Fatal(err)
	}
	goldenAt(t, "testdata/notstarted.json", j.Bytes())
	goldenAt(t, "testdata/notstarted.txt", txt.Bytes())
	goldenAt(t, "testdata/notstarted.junit.xml", x.Bytes())
	var h bytes.Buffer
	if err := WriteHTML(&h, s); err != nil {
		t.Fatal(err)
	}
	goldenAt(t, "testdata/notstarted.html", h.Bytes())
}
