package main

import (
	"runtime"
	"strings"
	"testing"
)

// TestGeneratorClockAndProcess: a run's report says how often the clock
// woke the process and how late, and what the process used (generator.
// wakeups, wake_late_*, process; docs/metrics.md), in the JSON and in the
// text summary.
func TestGeneratorClockAndProcess(t *testing.T) {
	tg := newTarget(t, nil)
	// 50 arrivals 20 ms apart, further apart than the default slack: each
	// one the generator is not already late for is a wake-up of its own, and
	// the clock wakes at most once per slack (750 µs) over the second.
	r := run(t, "run", scenario(t, tg.URL, shortLoad, ""))
	r.expect(t, exitPassed)
	g := r.report["generator"].(map[string]any)
	wakes, _ := g["wakeups"].(float64)
	if dur, _ := r.report["duration_s"].(float64); wakes < 5 || wakes > dur/0.00075+1 {
		t.Errorf("generator.wakeups = %v for 50 arrivals 20 ms apart in %vs", g["wakeups"], dur)
	}
	p99, ok1 := g["wake_late_p99"].(float64)
	mx, ok2 := g["wake_late_max"].(float64)
	if !ok1 || !ok2 || p99 < 0 || mx < p99 {
		t.Errorf("wake_late_p99 %v, wake_late_max %v", g["wake_late_p99"], g["wake_late_max"])
	}
	p, ok := g["process"].(map[string]any)
	if !ok {
		t.Fatalf("no generator.process in %v", g)
	}
	num := func(k string) float64 { v, _ := p[k].(float64); return v }
	if num("cpu_s") <= 0 || num("heap_mib") <= 0 || num("stacks_mib") <= 0 || num("runtime_mib") <= 0 {
		t.Errorf("process %v: want CPU, heap, stacks and runtime above 0", p)
	}
	if runtime.GOOS == "linux" {
		// Resident now is at most the peak; each figure is rounded to 0.1 MiB.
		if num("rss_file_mib") <= 1 || num("rss_anon_mib") <= 1 || num("peak_rss_mib")+0.2 < num("rss_file_mib")+num("rss_anon_mib") {
			t.Errorf("process %v: want file and anonymous pages, and a peak at least their sum", p)
		}
	}
	for _, want := range []string{"  clock: ", " wake-ups (", "each late by p99 ", "  process: CPU ", "of a core), peak RSS ", "MiB of the binary's pages"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("%q missing from the text summary:\n%s", want, r.stdout)
		}
	}
}
