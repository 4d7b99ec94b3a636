package gate

import (
	"fmt"
	"strings"

	"github.com/loadgate/loadgate/report"
	"github.com/loadgate/loadgate/scenarios"
	"github.com/loadgate/loadgate/slo"
	"github.com/loadgate/loadgate/verdict"
)

// LoadBaselines reads the --baseline reports before anything is sent and
// pools them into one (report.Pool: histograms merged exactly, rates
// pooled), so that a baseline kept from several runs is less noisy than any
// one of them (docs/thresholds.md, Baselines). Empty paths (an unset
// variable) are left out; nil without any. A file that is not a loadgate
// report, or a run that measured nothing (an invalid or preflight-failed
// one), is bad input: exit 2. A run that was partial, whose measurement
// was inconclusive or that ran another scenario is usable, with a warning
// (Warnings). Its errors say that nothing was sent: they are the
// caller's exit 2.
func LoadBaselines(paths []string) (*Baselines, error) {
	var b Baselines
	for _, path := range paths {
		if path == "" {
			continue
		}
		sum, err := report.ReadJSON(path)
		if err != nil {
			return nil, fmt.Errorf("--baseline %s: %v; nothing was sent", path, err)
		}
		if len(sum.Metrics) == 0 {
			return nil, fmt.Errorf("--baseline %s: the run has no metrics (status %s); nothing was sent", path, sum.Status)
		}
		b.paths = append(b.paths, path)
		b.runs = append(b.runs, sum)
	}
	if len(b.runs) == 0 {
		return nil, nil
	}
	pooled, err := report.Pool(b.runs)
	if err != nil {
		return nil, fmt.Errorf("--baseline %s: %v; nothing was sent", strings.Join(b.paths, ", "), err)
	}
	b.pooled = pooled
	return &b, nil
}

// Baselines are the --baseline runs, each with its path, and their pool,
// which the thresholds read (Baseline).
type Baselines struct {
	paths  []string
	runs   []*report.Summary
	pooled *report.Summary
}

// Baseline resolves a baseline threshold's value in the pooled run
// (Config.Baseline, slo.Options.Baseline).
func (b *Baselines) Baseline(key string, agg slo.Expr) (float64, bool, string) {
	return b.pooled.Baseline(key, agg)
}

// Warnings says why a --baseline run makes a doubtful reference
// for sc: partial, inconclusive, or another scenario (a different sha256).
// They go to stderr and into the report's warnings, so that a canary gate
// that passed against the wrong reference says so where the pipeline keeps
// it (docs/thresholds.md, Baselines).
func (b *Baselines) Warnings(sc *scenarios.Scenario) []string {
	if b == nil {
		return nil
	}
	var out []string
	for i, base := range b.runs {
		path := b.paths[i]
		if note := runNote(base); note != "" {
			out = append(out, fmt.Sprintf("--baseline %s: %s", path, note))
		}
		if base.Scenario.SHA256 != sc.SHA256 {
			name := ""
			if base.Scenario.Name != sc.Name {
				name = fmt.Sprintf(" %q, not %q", base.Scenario.Name, sc.Name)
			}
			out = append(out, fmt.Sprintf("--baseline %s ran another scenario%s (sha256 %.12s…, this one %.12s…): its limits may not compare",
				path, name, base.Scenario.SHA256, sc.SHA256))
		}
	}
	return out
}

// runNote says why a saved run makes a doubtful reference, or "".
func runNote(s *report.Summary) string {
	switch {
	case s.Partial:
		return "the run is partial (status " + string(s.Status) + "): its limits come from part of a run"
	case s.Status == verdict.Inconclusive || s.Status == verdict.Internal:
		return "the run's measurement is doubtful (status " + string(s.Status) + ")"
	}
	return ""
}
