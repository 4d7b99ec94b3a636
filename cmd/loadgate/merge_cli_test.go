package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadgate/loadgate/histogram"
	"github.com/loadgate/loadgate/report"
)

// TestMergeSegments: three --segment runs merged equal a single run of the
// whole schedule in their counts, and the merged latency is exactly the HDR
// merge of the three; the thresholds are judged on the merged data (a
// count threshold that each shard fails passes on their union).
func TestMergeSegments(t *testing.T) {
	tg := newTarget(t, nil)
	dir := t.TempDir()
	sc := scenario(t, tg.URL, "  rate: 60\n  duration: 1s\n",
		"  http_req_duration: [\"p(95) < 2s\"]\n  http_req_failed: [\"rate < 1%\"]\n  http_reqs: [\"count == 60\"]\n")
	var shards []string
	want := histogram.New()
	for i, seg := range []string{"0/3", "1/3", "2/3"} {
		path := filepath.Join(dir, "seg"+string(rune('0'+i))+".json")
		// Each shard sends 20 of the 60 requests: count == 60 fails.
		run(t, "run", sc, "--quiet", "--segment", seg, "-o", "json="+path).expect(t, exitFailed)
		shards = append(shards, path)
		s, err := report.ReadJSON(path)
		if err != nil {
			t.Fatal(err)
		}
		m := s.Metrics["http_req_duration"]
		h, err := m.Histogram()
		if err != nil {
			t.Fatal(err)
		}
		want.Merge(h)
	}
	whole := run(t, "run", sc, "--quiet")
	whole.expect(t, exitPassed)

	merged := filepath.Join(dir, "merged.json")
	r := run(t, append(append([]string{"merge"}, shards...), "-o", "json="+merged, "-o", "junit="+filepath.Join(dir, "merged.xml"))...)
	r.expect(t, exitPassed)
	got, err := report.ReadJSON(merged)
	if err != nil {
		t.Fatal(err)
	}
	validateReport(t, merged)
	if got.Status != "passed" || got.Plan.Segment != (report.SegmentInfo{Index: 0, Count: 1}) {
		t.Errorf("status %s, segment %+v; reasons %v", got.Status, got.Plan.Segment, got.Reasons)
	}
	wholeReqs := whole.report["metrics"].(map[string]any)["http_reqs"].(map[string]any)["count"]
	if n := got.Metrics["http_reqs"].Count; n != 60 || float64(n) != wholeReqs {
		t.Errorf("merged http_reqs %d, single run %v, want 60", n, wholeReqs)
	}
	d := got.Metrics["http_req_duration"]
	ms := func(x time.Duration) float64 { return math.Round(float64(x)/float64(time.Millisecond)*1000) / 1000 }
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"count", float64(d.Count), float64(want.Count())},
		{"max", d.Max, ms(want.Max())},
		{"min", d.Min, ms(want.Min())},
		{"p50", d.P50, ms(want.Quantile(0.5))},
		{"p90", d.P90, ms(want.Quantile(0.9))},
		{"p95", d.P95, ms(want.Quantile(0.95))},
		{"p99", d.P99, ms(want.Quantile(0.99))},
		{"p99.9", d.P999, ms(want.Quantile(0.999))},
	} {
		if c.got != c.want {
			t.Errorf("merged http_req_duration %s = %v, HDR merge of the shards gives %v", c.name, c.got, c.want)
		}
	}
	h, err := d.Histogram()
	if err != nil || !h.Equal(want) {
		t.Errorf("merged hdr differs from the HDR merge of the shards (%v)", err)
	}
	for _, th := range got.Thresholds {
		if !th.Passed {
			t.Errorf("threshold %s %q failed on the merged data: %s", th.Metric, th.Expr, th.Reason)
		}
	}

	// An interrupted shard makes the merge partial and interrupted.
	var doc map[string]any
	b, _ := os.ReadFile(shards[2])
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	doc["status"], doc["exit_code"], doc["partial"] = "interrupted", 130, true
	b, _ = json.Marshal(doc)
	stopped := filepath.Join(dir, "stopped.json")
	if err := os.WriteFile(stopped, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, "merge", shards[0], shards[1], stopped, "-o", "json="+merged)
	r.expect(t, exitInterrupted)
	if got, _ := report.ReadJSON(merged); got == nil || !got.Partial {
		t.Error("the merge of an interrupted shard is not partial")
	}

	// A missing shard: inconclusive, and the count threshold fails.
	r = run(t, "merge", shards[0], shards[1], "-o", "json="+merged)
	r.expect(t, exitFailed)
	if !strings.Contains(r.stdout, "segments missing from the merge: 2/3") {
		t.Errorf("summary does not name the missing segment:\n%s", r.stdout)
	}
}

func TestMergeErrors(t *testing.T) {
	tg := newTarget(t, nil)
	dir := t.TempDir()
	a, a2, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "a2.json"), filepath.Join(dir, "b.json")
	// a and a2: two hosts that each ran the same scenario.
	scA := scenario(t, tg.URL, "  rate: 10\n  duration: 500ms\n", "  http_reqs: [\"count > 0\"]\n")
	run(t, "run", scA, "--quiet", "-o", "json="+a).expect(t, exitPassed)
	run(t, "run", scA, "--quiet", "-o", "json="+a2).expect(t, exitPassed)
	run(t, "run", scenario(t, tg.URL, "  rate: 20\n  duration: 500ms\n", "  http_reqs: [\"count > 0\"]\n"), "--quiet", "-o", "json="+b).expect(t, exitPassed)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no input", []string{"merge"}, exitInvalid, "want the reports to merge"},
		{"not a report", []string{"merge", a, "../../scenarios/testdata/invalid/unknown_key.yaml"}, exitInvalid, "not a loadgate report"},
		{"different scenarios", []string{"merge", a, b}, exitInvalid, "different scenarios"},
		{"same segment twice is fine for hosts", []string{"merge", a, a2}, exitPassed, "PASSED"},
		{"one run twice", []string{"merge", a, a}, exitInvalid, "are the same run"},
		{"different scenarios, forced", []string{"merge", "--force", a, b}, exitPassed, "PASSED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.args...)
			r.expect(t, tc.code)
			if !strings.Contains(r.stderr+r.stdout, tc.want) {
				t.Errorf("output lacks %q:\nstdout:\n%s\nstderr:\n%s", tc.want, r.stdout, r.stderr)
			}
		})
	}
}
