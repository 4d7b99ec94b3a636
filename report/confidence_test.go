package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/loadgate/loadgate/report/schema"
	"github.com/loadgate/loadgate/slo"
	"github.com/loadgate/loadgate/verdict"
)

// TestUndecidedThreshold (docs/thresholds.md, "Confidence"): an undecided
// threshold says so in every format, with its interval and the samples
// that would decide it, and the JSON stays valid.
func TestUndecidedThreshold(t *testing.T) {
	r := testRun(t)
	r.Thresholds = []slo.Result{{
		Threshold: slo.Threshold{Metric: "http_req_duration", Expr: "p(99) < 500ms", Confidence: 0.95},
		Key:       "http_req_duration", Observed: 480, Limit: 500, Unit: "ms",
		CI: &slo.Bounds{Lo: 452, Hi: 561}, Undecided: true, ToDecide: 3000, Why: slo.WhyUnsure,
	}, {
		Threshold: slo.Threshold{Metric: "http_req_failed", Expr: "rate < 1%", Confidence: 0.99, Undecided: slo.UndecidedFails},
		Key:       "http_req_failed", Observed: 0.004, Limit: 0.01,
		CI: &slo.Bounds{Lo: 0.001, Hi: 0.02}, Undecided: true, ToDecide: 12000, Why: slo.WhyUnsure,
	}}
	r.Status = verdict.Inconclusive
	s := Build(r)
	th := s.Thresholds[0]
	want := "observed 480ms, limit < 500ms (95% interval 452ms..561ms straddles the limit: about 3,000 more requests would decide)"
	if got := th.Detail(); got != want {
		t.Fatalf("Detail\n  %s\nwant\n  %s", got, want)
	}
	if !th.Undecided || th.UndecidedAs != "inconclusive" || len(th.Interval) != 2 || *th.Interval[1] != 561 {
		t.Fatalf("threshold %+v", th)
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, s); err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(b.Bytes()); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"undecided": true`, `"to_decide": 3000`, `"undecided_as": "fail"`, `"interval": [`} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("JSON lacks %s", w)
		}
	}
	b.Reset()
	if err := WriteText(&b, s, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "UNSURE http_req_duration") || !strings.Contains(b.String(), "[counts as fail]") {
		t.Fatalf("text:\n%s", b.String())
	}
	b.Reset()
	if err := WriteJUnit(&b, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `<skipped message="undecided: observed 480ms`) || !strings.Contains(b.String(), `<failure message="observed 0.4%, limit &lt; 1%`) {
		t.Fatalf("junit:\n%s", b.String())
	}
	// Read back, it renders the same.
	back, err := DecodeJSON(bytes.NewReader(func() []byte { var x bytes.Buffer; WriteJSON(&x, s); return x.Bytes() }()))
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Thresholds[0].Detail(); got != want {
		t.Fatalf("read back: %s", got)
	}
}
