package scenarios

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/loadgate/loadgate/engine"
)

// generatorKeys are the keys of the generator block: the tolerances of the
// generator's own health, past which a run is inconclusive (exit 4).
//
//	generator:
//	  max_schedule_lag_p99: 50ms   # schedule_lag p99 above this: inconclusive
//	  min_achieved_ratio: 0.95     # started/(planned - no free slot) below this (or 95%): inconclusive
//	  allow_local_errors: false    # fd/port exhaustion: inconclusive unless true
//
// Only the generator's own lag and shortfall are judged: arrivals that
// waited for a free slot or found none are the target's doing
// (docs/metrics.md, "The generator's health").
var generatorKeys = []string{"max_schedule_lag_p99", "min_achieved_ratio", "allow_local_errors"}

// generator decodes the generator block over the defaults.
func (d *decoder) generator(n *yaml.Node) engine.Tolerances {
	t := engine.DefaultTolerances()
	fs := d.fields(n, "in generator", generatorKeys, nil)
	if f, ok := fs["max_schedule_lag_p99"]; ok {
		if v, ok := d.duration(f.val, "generator.max_schedule_lag_p99", 1); ok {
			t.MaxLagP99 = v
		}
	}
	if f, ok := fs["min_achieved_ratio"]; ok {
		if v, ok := d.ratio(f.val, "generator.min_achieved_ratio"); ok {
			t.MinAchieved = v
		}
	}
	if f, ok := fs["allow_local_errors"]; ok {
		t.AllowLocalErrors = d.boolean(f.val, "generator.allow_local_errors")
	}
	return t
}

// ratio reads a share in [0, 1], written as a number (0.95) or a percent
// ("95%").
func (d *decoder) ratio(n *yaml.Node, what string) (float64, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && strings.HasSuffix(n.Value, "%") {
		v, err := strconv.ParseFloat(strings.TrimSuffix(n.Value, "%"), 64)
		if err != nil || v < 0 || v > 100 {
			d.el.node(n, "%s must be a percent from 0%% to 100%%, got %q", what, n.Value)
			return 0, false
		}
		return v / 100, true
	}
	v, ok := d.number(n, what, 0)
	if ok && v > 1 {
		d.el.node(n, "%s must be a share from 0 to 1 (0.95, or \"95%%\"), got %s", what, n.Value)
		return 0, false
	}
	return v, ok
}
