package scenarios

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/loadgate/loadgate/capacity"
	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/slo"
)

// SearchSpec is load.search: a capacity search instead of a profile
// (docs/capacity.md).
type SearchSpec struct {
	Config capacity.Config
	Timing capacity.Timing
}

var searchKeys = []string{"from", "max", "step", "warmup", "cooldown", "precision", "budget", "retries", "require"}

// The defaults of load.search (docs/capacity.md).
const (
	defaultSearchStep   = 30 * time.Second
	defaultSearchWarmup = 5 * time.Second
	defaultPrecision    = 0.05
)

// search decodes load.search. The profile the plan gets is one step at
// max (warm-up and step), so that the load checks (a rate one host cannot
// start, max_in_flight) judge the highest rate the search may try.
func (d *decoder) search(n *yaml.Node, l *LoadSpec) {
	s := &SearchSpec{
		Config: capacity.Config{Precision: defaultPrecision, Retries: 1},
		Timing: capacity.Timing{Step: defaultSearchStep, Warmup: defaultSearchWarmup},
	}
	fs := d.fields(n, "in load.search", searchKeys, nil)
	d.require(n, fs, "in load.search", "from", "max")
	if f, ok := fs["from"]; ok {
		if v, ok := d.number(f.val, "search.from", 0); ok && v == 0 {
			d.el.node(f.val, "search.from must be above 0 (the first rate tried, e.g. 50)")
		} else {
			s.Config.From = v
		}
	}
	if f, ok := fs["max"]; ok {
		if v, ok := d.number(f.val, "search.max", 0); ok && s.Config.From > 0 && v < s.Config.From {
			d.el.node(f.val, "search.max (%s) must be at least search.from (%g): the search never tries a rate above max", f.val.Value, s.Config.From)
		} else {
			s.Config.Max = v
			l.startNode, l.targetNodes = f.val, []*yaml.Node{f.val}
		}
	}
	if f, ok := fs["step"]; ok {
		s.Timing.Step, _ = d.duration(f.val, "search.step", time.Second)
	}
	if f, ok := fs["warmup"]; ok {
		s.Timing.Warmup, _ = d.duration(f.val, "search.warmup", 0)
	}
	if f, ok := fs["cooldown"]; ok {
		s.Timing.Cooldown, _ = d.duration(f.val, "search.cooldown", 0)
	}
	if f, ok := fs["budget"]; ok {
		s.Timing.Budget, _ = d.duration(f.val, "search.budget", time.Second)
	}
	if f, ok := fs["precision"]; ok {
		if v, ok := d.ratio(f.val, "search.precision"); ok && (v <= 0 || v >= 1) {
			d.el.node(f.val, "search.precision must be between 0%% and 100%%, e.g. 5%%, got %s", f.val.Value)
		} else if ok {
			s.Config.Precision = v
		}
	}
	if f, ok := fs["retries"]; ok {
		if v, ok := d.integer(f.val, "search.retries", 0, 5); ok {
			s.Config.Retries = int(v)
			if v == 0 {
				s.Config.Retries = -1 // capacity.Config: none (0 is the default)
			}
		}
	}
	if f, ok := fs["require"]; ok {
		rs := d.fields(f.val, "in load.search.require", []string{"min_rate"}, nil)
		d.require(f.val, rs, "in load.search.require", "min_rate")
		if r, ok := rs["min_rate"]; ok {
			if v, ok := d.number(r.val, "search.require.min_rate", 0); ok && s.Config.Max > 0 && v > s.Config.Max {
				d.el.node(r.val, "search.require.min_rate (%s) is above search.max (%g): the search could never prove it", r.val.Value, s.Config.Max)
			} else {
				s.Config.MinRate = v
			}
		}
	}
	if s.Timing.Budget > 0 && s.Timing.Budget < s.Timing.Warmup+s.Timing.Step {
		d.el.node(fs["budget"].val, "search.budget (%v) is shorter than one step (warmup %v + step %v)", s.Timing.Budget, s.Timing.Warmup, s.Timing.Step)
	}
	l.Search = s
	l.StartRate = s.Config.Max
	l.Stages = []engine.Stage{{Duration: s.Timing.Warmup + s.Timing.Step, Target: s.Config.Max}}
}

// checkSearchThresholds refuses what a search cannot judge per step: an
// SLI threshold (Prometheus is queried over a run's window, not a step's)
// and a search without any threshold (nothing would ever fail).
func checkSearchThresholds(el *errorList, spec *Spec) {
	if spec.Load.Search == nil {
		return
	}
	fail := 0
	for _, t := range spec.Thresholds {
		if t.Metric == slo.SLIMetric {
			el.at(t.Pos.Line, t.Pos.Col, "an sli threshold cannot judge a capacity search's steps (its query covers a run, not a step): drop it, or drop load.search")
		}
		if t.Severity == slo.Fail {
			fail++
		}
	}
	if fail == 0 {
		el.node(spec.Load.node, "load.search needs at least one threshold of severity fail: the thresholds say whether the SLO holds at a rate")
	}
}

// NewSearch is a search from from to max with the defaults of load.search.
func NewSearch(from, max float64) *SearchSpec {
	return &SearchSpec{
		Config: capacity.Config{From: from, Max: max, Precision: defaultPrecision, Retries: 1},
		Timing: capacity.Timing{Step: defaultSearchStep, Warmup: defaultSearchWarmup},
	}
}

// SetSearch makes sc a capacity search (loadgate capacity with flags): its
// plan's load becomes one step at max, so that the load checks judge the
// highest rate the search may try. The error says what is wrong with s.
func (sc *Scenario) SetSearch(s *SearchSpec) error {
	if _, err := capacity.New(s.Config); err != nil {
		return err
	}
	if s.Timing.Budget > 0 && s.Timing.Budget < s.Timing.Warmup+s.Timing.Step {
		return fmt.Errorf("the budget (%v) is shorter than one step (warm-up %v + step %v)", s.Timing.Budget, s.Timing.Warmup, s.Timing.Step)
	}
	if sc.Plan.Load.Model != engine.Open {
		return fmt.Errorf("a capacity search runs the open model (rates); this scenario's load is closed")
	}
	sc.Search = s
	sc.Plan.Load.StartRate = s.Config.Max
	sc.Plan.Load.Stages = []engine.Stage{{Duration: s.Timing.Warmup + s.Timing.Step, Target: s.Config.Max}}
	return nil
}
