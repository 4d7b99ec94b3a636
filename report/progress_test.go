package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/slo"
)

func liveResults() []slo.Result {
	return []slo.Result{
		{Threshold: slo.Threshold{Expr: "p(95) < 1s"}, Key: "http_req_duration", Passed: true, Evaluations: 3},
		{Threshold: slo.Threshold{Expr: "rate < 1%"}, Key: "http_req_failed", Failed: true, Evaluations: 3},
		{Threshold: slo.Threshold{Expr: "p(99) < 2s", Window: 30 * time.Second}, Key: "http_req_duration{step:pay}"},
	}
}

func TestProgressLine(t *testing.T) {
	p := testPlan()
	snaps := snapshots(p, 50)
	for _, tc := range []struct {
		name string
		opt  ProgressOptions
		snap *engine.Snapshot
		want string
	}{
		{
			name: "plain, no thresholds",
			opt:  ProgressOptions{Total: 50 * time.Second},
			snap: snaps[9],
			want: "10s/50s  200 req/s  100/100 arrivals/s  in flight 4  p50 9.21ms p95 24.61ms p99 26.82ms  errors 2.50%",
		},
		{
			name: "during the stall, thresholds as words",
			opt:  ProgressOptions{Total: 50 * time.Second, Thresholds: liveResults},
			snap: snaps[20],
			want: "21s/50s  200 req/s  100/100 arrivals/s  in flight 80  p50 814.08ms p95 1.63s p99 1.63s  errors 2.50%  " +
				"PASS http_req_duration p(95) < 1s  FAIL http_req_failed rate < 1%  WAIT http_req_duration{step:pay} p(99) < 2s",
		},
		{
			name: "colored markers",
			opt:  ProgressOptions{Color: true, Thresholds: liveResults},
			snap: snaps[0],
			want: "1s  200 req/s  100/100 arrivals/s  in flight 3  p50 9.21ms p95 24.61ms p99 26.82ms  errors 2.50%  " +
				ansiGreen + "✓" + ansiReset + " http_req_duration p(95) < 1s  " + ansiRed + "✗" + ansiReset + " http_req_failed rate < 1%  " + ansiDim + "·" + ansiReset + " http_req_duration{step:pay} p(99) < 2s",
		},
		{
			// A wrapped line cannot be redrawn: cut whole segments, never
			// a color code.
			name: "cut to the width",
			opt:  ProgressOptions{Color: true, Width: 130, Thresholds: liveResults},
			snap: snaps[0],
			want: "1s  200 req/s  100/100 arrivals/s  in flight 3  p50 9.21ms p95 24.61ms p99 26.82ms  errors 2.50%  " +
				ansiGreen + "✓" + ansiReset + " http_req_duration p(95) < 1s …",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := NewProgress(&bytes.Buffer{}, p, tc.opt).Line(tc.snap)
			if got != tc.want {
				t.Errorf("line\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

// TestProgressRates (issue 15 item 10): requests per second are never
// compared with planned arrivals, and nothing planned is never "/0".
func TestProgressRates(t *testing.T) {
	p := testPlan()
	s := snapshots(p, 31)
	tail := *s[0]
	iv := *tail.Interval
	iv.Planned, iv.Started = 0, 0 // after the schedule: responses still arrive
	tail.Interval = &iv
	late := tail
	iv2 := iv
	iv2.Started = 7 // arrivals started late under overload: wait
	late.Interval = &iv2
	for _, tc := range []struct {
		name string
		snap *engine.Snapshot
		want string
	}{
		{"two requests per arrival", s[0], "200 req/s  100/100 arrivals/s  in flight"},
		{"arrivals behind the plan", s[30], "194 req/s  97/100 arrivals/s  in flight"},
		{"nothing planned: no planned figure", &tail, "200 req/s  in flight"},
		{"started, none planned", &late, "200 req/s  7 arrivals/s  in flight"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := NewProgress(&bytes.Buffer{}, p, ProgressOptions{}).Line(tc.snap)
			if !strings.Contains(got, tc.want) || strings.Contains(got, "/0 ") || strings.Contains(got, "rps") {
				t.Errorf("line %q: want %q", got, tc.want)
			}
		})
	}
}

func TestProgressClosedModel(t *testing.T) {
	p := testPlan()
	p.Load.Model = engine.Closed
	got := NewProgress(&bytes.Buffer{}, p, ProgressOptions{}).Line(snapshots(p, 1)[0])
	if !strings.HasPrefix(got, "1s  200 req/s  in flight ") {
		t.Errorf("closed model line %q: want the achieved rate alone (nothing is planned)", got)
	}
}

// TestProgressOutput checks the cadence: a redrawn line per interval on a
// TTY, a plain line every 5 s otherwise, and the final line in both.
func TestProgressOutput(t *testing.T) {
	p := testPlan()
	snaps := snapshots(p, 12)
	t.Run("tty", func(t *testing.T) {
		var b bytes.Buffer
		pr := NewProgress(&b, p, ProgressOptions{TTY: true})
		for _, s := range snaps {
			pr.Observe(s)
		}
		out := b.String()
		if n := strings.Count(out, "\r\x1b[K"); n != len(snaps) {
			t.Errorf("%d redraws, want %d", n, len(snaps))
		}
		if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
			t.Errorf("want exactly one newline, after the final line: %q", out)
		}
	})
	t.Run("plain", func(t *testing.T) {
		var b bytes.Buffer
		pr := NewProgress(&b, p, ProgressOptions{})
		for _, s := range snaps {
			pr.Observe(s)
		}
		out := b.String()
		if strings.ContainsAny(out, "\r\x1b") {
			t.Errorf("control characters in plain output: %q", out)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		var starts []string
		for _, l := range lines {
			starts = append(starts, strings.Fields(l)[0])
		}
		if got := strings.Join(starts, " "); got != "5s 10s 12s" {
			t.Errorf("lines at %s, want 5s 10s 12s (every 5 s and the final one)", got)
		}
	})
}
