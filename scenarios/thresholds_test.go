package scenarios

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/loadgate/loadgate/slo"
)

const thresholdBase = "name: t\nbase_url: http://127.0.0.1:1\nload: { rate: 1, duration: 1s }\nflows:\n  - name: f\n    steps: [ { name: s, get: / } ]\nthresholds:\n  http_req_duration:\n"

// TestK6ThresholdForm: k6's object form of a threshold is accepted as it
// is (docs/thresholds.md, "From k6"): threshold, abortOnFail and
// delayAbortEval mean expr, abort_on_fail and delay, mix with loadgate's
// other options, and giving both spellings of one option is an error at
// the second one.
func TestK6ThresholdForm(t *testing.T) {
	p99 := func(abort bool, delay time.Duration) slo.Threshold {
		return slo.Threshold{Metric: "http_req_duration", Expr: "p(99)<1500", AbortOnFail: abort, Delay: delay}
	}
	for _, tc := range []struct {
		name, item string
		want       slo.Threshold
		err        string // the whole error, "" for valid
	}{
		{"k6's example", "{ threshold: 'p(99)<1500', abortOnFail: true, delayAbortEval: '10s' }", p99(true, 10*time.Second), ""},
		{"loadgate's spelling", "{ expr: 'p(99)<1500', abort_on_fail: true, delay: 10s }", p99(true, 10*time.Second), ""},
		{"threshold alone", "{ threshold: 'p(99)<1500' }", p99(false, 0), ""},
		{"block style", "\n      threshold: p(99)<1500\n      abortOnFail: false\n      delayAbortEval: 1m30s", p99(false, 90*time.Second), ""},
		{"mixed spellings", "{ threshold: 'p(99)<1500', abort_on_fail: true, delayAbortEval: 500ms }", p99(true, 500*time.Millisecond), ""},
		{"with loadgate's options", "{ threshold: 'p(99)<1500', window: 30s, severity: warn, min_samples: 10 }",
			slo.Threshold{Metric: "http_req_duration", Expr: "p(99)<1500", Window: 30 * time.Second, Severity: slo.Warn, MinSamples: 10}, ""},

		{"threshold and expr", "{ expr: 'p(99)<1500', threshold: 'p(95)<1s' }", slo.Threshold{},
			`t.yaml:9:29: key "threshold" in threshold is the same option as "expr" (first at line 9): give one of them`},
		{"expr after threshold", "{ threshold: 'p(99)<1500', expr: 'p(95)<1s' }", slo.Threshold{},
			`t.yaml:9:34: key "expr" in threshold is the same option as "threshold" (first at line 9): give one of them`},
		{"abortOnFail and abort_on_fail", "\n      expr: p(99)<1500\n      abortOnFail: true\n      abort_on_fail: false", slo.Threshold{},
			`t.yaml:12:7: key "abort_on_fail" in threshold is the same option as "abortOnFail" (first at line 11): give one of them`},
		{"delayAbortEval and delay", "{ expr: 'p(99)<1500', delay: 1s, delayAbortEval: 2s }", slo.Threshold{},
			`t.yaml:9:40: key "delayAbortEval" in threshold is the same option as "delay" (first at line 9): give one of them`},
		{"delayAbortEval without a unit", "{ threshold: 'p(99)<1500', delayAbortEval: 10 }", slo.Threshold{},
			`t.yaml:9:50: duration needs a unit, e.g. 30s (got 10 for delayAbortEval)`},
		{"abortOnFail not a boolean", "{ threshold: 'p(99)<1500', abortOnFail: 'true' }", slo.Threshold{},
			`t.yaml:9:47: expected true or false for abortOnFail, got string`},
		{"bad expression under threshold", "{ threshold: 'p(99)<<1500' }", slo.Threshold{},
			`t.yaml:9:27: invalid threshold "p(99)<<1500": unexpected "<": want a value: a duration (300ms), a number, a percent (1%) or baseline`},
		{"neither spelling", "{ abortOnFail: true }", slo.Threshold{},
			`t.yaml:9:7: missing key "expr" in threshold`},
		{"k6 typo", "{ threshold: 'p(99)<1500', abortOnFial: true }", slo.Threshold{},
			`t.yaml:9:34: unknown key "abortOnFial" in threshold; did you mean "abort_on_fail"?`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := Parse("t.yaml", []byte(thresholdBase+"    - "+tc.item+"\n"), nil)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error\n  %v\nwant\n  %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(sc.Thresholds) != 1 || !reflect.DeepEqual(sc.Thresholds[0], tc.want) {
				t.Fatalf("thresholds %+v, want [%+v]", sc.Thresholds, tc.want)
			}
		})
	}
}

// TestK6ThresholdKeys: every k6 spelling names a loadgate key, and the
// list of known keys holds each once.
func TestK6ThresholdKeys(t *testing.T) {
	if len(k6ThresholdNames) != len(k6ThresholdKeys) {
		t.Fatalf("k6ThresholdNames %v and k6ThresholdKeys %v differ", k6ThresholdNames, k6ThresholdKeys)
	}
	for _, k6 := range k6ThresholdNames {
		lg, ok := k6ThresholdKeys[k6]
		if !ok || !strings.Contains(strings.Join(thresholdKeys, " ")+" ", lg+" ") {
			t.Errorf("k6 key %q maps to %q, not a threshold key", k6, lg)
		}
	}
}

// TestConfidenceKeys (docs/thresholds.md, "Confidence"): a threshold's own
// confidence must apply to it; the top-level one applies where it can and
// gives its undecided; off exempts a threshold; undecided needs a
// confidence.
func TestConfidenceKeys(t *testing.T) {
	const head = "name: t\nbase_url: http://127.0.0.1:1\nload: { rate: 1, duration: 1s }\nflows:\n  - name: f\n    steps: [ { name: s, get: / } ]\n"
	type got struct {
		conf float64
		und  slo.Undecided
	}
	for _, tc := range []struct {
		name, src string
		want      []got
		err       string
	}{
		{"per threshold", "thresholds:\n  http_req_duration: [ { expr: p(99) < 1s, confidence: 95% } ]\n", []got{{0.95, slo.Inconclusive}}, ""},
		{"as a share, with undecided", "thresholds:\n  http_req_failed: [ { expr: rate < 1%, confidence: 0.99, undecided: fail } ]\n", []got{{0.99, slo.UndecidedFails}}, ""},
		{"top level where it applies", "confidence: { level: 90%, undecided: pass }\nthresholds:\n  http_req_duration: [ p(95) < 1s, avg < 1s, { expr: med < 1s, confidence: off }, { expr: p(99) < 2s, window: 10s } ]\n  http_req_failed: [ rate < 1% ]\n",
			[]got{{0.9, slo.UndecidedPasses}, {0, 0}, {0, 0}, {0, 0}, {0.9, slo.UndecidedPasses}}, ""},
		{"top level scalar", "confidence: 95%\nthresholds:\n  http_req_duration: [ p(95) < 1s ]\n", []got{{0.95, slo.Inconclusive}}, ""},
		{"on an average", "thresholds:\n  http_req_duration: [ { expr: avg < 1s, confidence: 95% } ]\n", nil,
			`t.yaml:8:42: threshold "avg < 1s": confidence applies to a percentile of a trend or the rate of a rate, not to avg of http_req_duration`},
		{"with a window", "thresholds:\n  http_req_duration: [ { expr: p(95) < 1s, window: 5s, confidence: 95% } ]\n", nil,
			`t.yaml:8:56: threshold "p(95) < 1s": confidence applies to whole-run thresholds, not to a window`},
		{"undecided alone", "thresholds:\n  http_req_duration: [ { expr: p(95) < 1s, undecided: pass } ]\n", nil,
			`t.yaml:8:44: threshold "p(95) < 1s": undecided needs a confidence (confidence: 95%)`},
		{"a bad level", "thresholds:\n  http_req_duration: [ { expr: p(95) < 1s, confidence: 30% } ]\n", nil,
			`t.yaml:8:44: threshold "p(95) < 1s": confidence 30%: want a level from 50% to 99.99%`},
		{"a level over 100%", "confidence: 120%\nthresholds:\n  http_req_duration: [ p(95) < 1s ]\n", nil,
			`t.yaml:7:13: confidence must be a percent from 0% to 100%, got "120%"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := Parse("t.yaml", []byte(head+tc.src), nil)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error\n  %v\nwant\n  %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var have []got
			for _, th := range sc.Thresholds {
				have = append(have, got{th.Confidence, th.Undecided})
			}
			if !reflect.DeepEqual(have, tc.want) {
				t.Fatalf("confidences %+v, want %+v", have, tc.want)
			}
		})
	}
}
