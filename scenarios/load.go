package scenarios

import (
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/loadgate/loadgate/engine"
)

var (
	loadKeys = []string{"model", "start_rate", "start_users", "stages", "arrivals", "seed",
		"max_in_flight", "overload", "think", "max_rate", "interval", "slack", "rate", "users", "duration", "graceful_stop", "search"}
	// openOnly and closedOnly would be silently meaningless in the other
	// model, so they are errors there.
	openOnly   = []string{"start_rate", "arrivals", "seed", "max_in_flight", "overload", "rate", "search"}
	closedOnly = []string{"start_users", "think", "max_rate", "users"}
)

// minInterval keeps the snapshot rate sane: each interval merges every
// shard's histograms.
const minInterval = 100 * time.Millisecond

// maxSlack bounds load.slack: beyond it the clock's coalescing is no
// longer a saving of CPU but a change of the load's shape.
const maxSlack = 100 * time.Millisecond

// load decodes the load section. Fields it could not decode stay zero; the
// errors are already reported.
func (d *decoder) load(n *yaml.Node) LoadSpec {
	errs := d.el.count()
	l := LoadSpec{Interval: engine.DefaultInterval, node: n}
	l.MaxInFlight = engine.DefaultMaxInFlight
	l.Slack = engine.DefaultSlack
	fs := d.fields(n, "in load", loadKeys, nil)
	if f, ok := fs["model"]; ok {
		if m, _ := d.enum(f.val, "model", "open", "closed"); m == "closed" {
			l.Model = engine.Closed
		}
	}
	wrong, other := closedOnly, "closed"
	if l.Model == engine.Closed {
		wrong, other = openOnly, "open"
	}
	for _, k := range wrong {
		if f, ok := fs[k]; ok {
			d.el.node(f.key, "%s applies to the %s model only; this load is %s", k, other, l.Model)
			delete(fs, k)
		}
	}
	if f, ok := fs["search"]; ok {
		// A search replaces the profile: its steps are the rates.
		for _, k := range []string{"start_rate", "stages", "rate", "duration"} {
			if g, ok := fs[k]; ok {
				d.el.node(g.key, "%s and search do not go together: a capacity search chooses its own rates (drop %s, or drop search)", k, k)
			}
		}
		d.search(f.val, &l)
	} else {
		d.loadShape(n, fs, &l)
	}
	d.loadOptions(fs, &l)
	l.decoded = d.el.count() == errs
	return l
}

// loadShape decodes the rate curve: start and stages, or a quick constant
// form (rate or users, with duration).
func (d *decoder) loadShape(n *yaml.Node, fs map[string]field, l *LoadSpec) {
	start, startOK := fs["start_rate"]
	if f, ok := fs["start_users"]; ok {
		start, startOK = f, true
	}
	quick, quickOK := fs["rate"]
	if f, ok := fs["users"]; ok {
		quick, quickOK = f, true
	}
	dur, durOK := fs["duration"]
	stages, stagesOK := fs["stages"]
	switch {
	case quickOK && (startOK || stagesOK):
		d.el.node(quick.key, "%s with duration is a constant load: drop it, or drop start and stages", quick.key.Value)
	case quickOK && !durOK:
		d.el.node(quick.key, "%s needs duration (a constant load for that long)", quick.key.Value)
	case durOK && !quickOK:
		d.el.node(dur.key, "duration needs rate (open model) or users (closed model); with stages, give each stage its duration")
	case quickOK:
		v, _ := d.number(quick.val, quick.key.Value, 0)
		t, _ := d.duration(dur.val, "duration", time.Nanosecond)
		l.StartRate = v
		l.Stages = []engine.Stage{{Duration: t, Target: v}}
		l.startNode, l.targetNodes = quick.val, []*yaml.Node{quick.val}
	case !stagesOK:
		d.el.node(n, "missing key \"stages\" in load (or rate and duration for a constant load)")
	default:
		if startOK {
			l.StartRate, _ = d.number(start.val, start.key.Value, 0)
			l.startNode = start.val
		}
		l.Stages, l.targetNodes = d.stages(stages.val)
		if l.startNode == nil {
			l.startNode = stages.key
		}
	}
}

// stages decodes the stages and returns them with the node of each one's
// target (its mapping when the target is missing).
func (d *decoder) stages(n *yaml.Node) ([]engine.Stage, []*yaml.Node) {
	items := d.list(n, "stages")
	if n.Kind == yaml.SequenceNode && len(items) == 0 {
		d.el.node(n, "stages must not be empty")
	}
	out := make([]engine.Stage, 0, len(items))
	nodes := make([]*yaml.Node, 0, len(items))
	for i, it := range items {
		where := "in load.stages[" + itoa(i) + "]"
		fs := d.fields(it, where, []string{"duration", "target"}, nil)
		d.require(it, fs, where, "duration", "target")
		var s engine.Stage
		if f, ok := fs["duration"]; ok {
			s.Duration, _ = d.duration(f.val, "stage duration", time.Nanosecond)
		}
		node := it
		if f, ok := fs["target"]; ok {
			s.Target, _ = d.number(f.val, "stage target", 0)
			node = f.val
		}
		out = append(out, s)
		nodes = append(nodes, node)
	}
	return out, nodes
}

// loadOptions decodes everything but the shape.
func (d *decoder) loadOptions(fs map[string]field, l *LoadSpec) {
	if f, ok := fs["arrivals"]; ok {
		if a, _ := d.enum(f.val, "arrivals", "uniform", "poisson"); a == "poisson" {
			l.Arrivals = engine.Poisson
		}
	}
	if f, ok := fs["seed"]; ok {
		v, _ := d.integer(f.val, "seed", 0, 1<<63-1)
		l.Seed = uint64(v)
	}
	if f, ok := fs["max_in_flight"]; ok {
		if v, ok := d.integer(f.val, "max_in_flight", 1, 1_000_000); ok {
			l.MaxInFlight = int(v)
		}
	}
	if f, ok := fs["overload"]; ok {
		if o, _ := d.enum(f.val, "overload", "wait", "drop"); o == "drop" {
			l.Overload = engine.Drop
		}
	}
	if f, ok := fs["think"]; ok {
		l.Think, _ = d.duration(f.val, "think", 0)
	}
	if f, ok := fs["max_rate"]; ok {
		l.MaxRate, _ = d.number(f.val, "max_rate", 0)
	}
	if f, ok := fs["slack"]; ok {
		if v, ok := d.duration(f.val, "slack", 0); ok {
			if v > maxSlack {
				d.el.node(f.val, "slack must be at most %v, got %s (how late a wait may end to share a wake-up)", maxSlack, f.val.Value)
			} else {
				l.Slack = v
			}
		}
	}
	if f, ok := fs["interval"]; ok {
		if v, ok := d.duration(f.val, "interval", minInterval); ok {
			l.Interval = v
		}
	}
	if f, ok := fs["graceful_stop"]; ok {
		if v, ok := d.duration(f.val, "graceful_stop", 0); ok {
			// 0s cuts requests in flight off at once; the engine reads a
			// zero Grace as "the default".
			l.Grace = max(v, time.Nanosecond)
		}
	}
}

// checkLoad reports a load profile that cannot run at all
// (engine.Plan.CheckLoad: nothing planned, a rate beyond one host, more
// iterations at once than max_in_flight holds), at the rate or stage
// target at fault. It needs the compiled flows (their think times).
func (c *compiler) checkLoad(p *engine.Plan) {
	l := &c.spec.Load
	if !l.decoded {
		return // the load's own errors are reported; its zero values mean nothing
	}
	e := p.CheckLoad()
	if e == nil {
		return
	}
	n := l.startNode
	if e.Stage >= 0 && e.Stage < len(l.targetNodes) {
		n = l.targetNodes[e.Stage]
	}
	if n == nil {
		n = l.node
	}
	c.el.node(n, "load: %s", e.Msg)
}
