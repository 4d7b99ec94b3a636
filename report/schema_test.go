package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/report/schema"
)

// TestSchema: the reports Build and Merge make validate against the JSON
// Schema, from a full run to one that never started. (The golden files are
// validated in report/schema, the CLI's reports in cmd/loadgate.)
func TestSchema(t *testing.T) {
	var shards []*Summary
	for j := 0; j < 2; j++ {
		shards = append(shards, Build(shardRun(t, j, 2)))
	}
	merged, err := Merge(shards, MergeOptions{Tool: "loadgate"})
	if err != nil {
		t.Fatal(err)
	}
	merged.Summary.Status = "failed"
	merged.Summary.ExitCode = 1
	for _, tc := range []struct {
		name string
		sum  *Summary
	}{
		{"full run", Build(testRun(t))},
		{"never started", Build(Run{Tool: "loadgate", Status: "invalid", Reasons: []string{"bad flag"}})},
		{"merged", merged.Summary},
		{"distributed, an agent lost", Build(agentsRun(t))},
		{"paced by Go timers", Build(goTimerRun(t))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteJSON(&b, tc.sum); err != nil {
				t.Fatal(err)
			}
			if err := schema.Validate(b.Bytes()); err != nil {
				t.Error(err)
			}
		})
	}
}

// goTimerRun is testRun whose clock fell back to Go timers.
func goTimerRun(t testing.TB) Run {
	r := testRun(t)
	f := *r.Final
	f.Clock, f.ClockFallback = engine.ClockGo, "timerfd_create: too many open files"
	r.Final = &f
	return r
}

// TestClockFallbackIsVisible: a run that could not have the kernel timer
// says so in the JSON (generator.clock, clock_fallback), in a warning and
// in the text summary's generator line.
func TestClockFallbackIsVisible(t *testing.T) {
	s := Build(goTimerRun(t))
	if s.Generator.Clock != engine.ClockGo || s.Generator.ClockFallback == "" {
		t.Fatalf("generator = %+v", s.Generator)
	}
	base := Build(testRun(t))
	if len(s.Warnings) != len(base.Warnings)+1 || !strings.Contains(s.Warnings[len(s.Warnings)-1], "fell back to Go timers (timerfd_create: too many open files)") {
		t.Fatalf("warnings = %q", s.Warnings)
	}
	var b bytes.Buffer
	if err := WriteText(&b, s, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "paced by Go timers") || !strings.Contains(b.String(), "warning: the run's clock fell back") {
		t.Fatalf("text summary:\n%s", b.String())
	}
	for _, w := range base.Warnings {
		if strings.Contains(w, "Go timers") || base.Generator.ClockFallback != "" {
			t.Fatalf("a run without a fallback: warnings %q, generator %+v", base.Warnings, base.Generator)
		}
	}
}
