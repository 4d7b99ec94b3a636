package cluster

import (
	"fmt"
	"math"
	"strconv"

	"github.com/loadgate/loadgate/engine"
)

// apply checks p against the caps and lowers what a cap lowers: a plan
// without max_in_flight gets the cap, and the response bytes kept for
// checks stop at MaxBody. The error says which cap and by how much.
func (c Caps) apply(p *engine.Plan) error {
	l := &p.Load
	peak := l.StartRate
	for _, s := range l.Stages {
		peak = max(peak, s.Target)
	}
	if c.MaxRate > 0 {
		switch rate := agentRate(p); {
		case l.Model == engine.Closed && l.MaxRate <= 0:
			return fmt.Errorf("a closed-model plan without max_rate may start iterations at any rate; this agent's cap is %s/s (--max-rate): set load.max_rate", num(c.MaxRate))
		case rate > c.MaxRate*(1+1e-9):
			return fmt.Errorf("the peak rate for this agent, %s/s, exceeds its cap of %s/s (--max-rate)", num(rate), num(c.MaxRate))
		}
	}
	if c.MaxDuration > 0 && l.Duration() > c.MaxDuration {
		return fmt.Errorf("the load lasts %v, beyond this agent's cap of %v (--max-duration)", l.Duration(), c.MaxDuration)
	}
	if c.MaxInFlight > 0 {
		switch {
		case l.Model == engine.Closed && agentUsers(p) > float64(c.MaxInFlight):
			return fmt.Errorf("%s users on this agent exceed its cap of %d in flight (--max-in-flight)", num(agentUsers(p)), c.MaxInFlight)
		case l.MaxInFlight > c.MaxInFlight:
			return fmt.Errorf("max_in_flight %d exceeds this agent's cap of %d (--max-in-flight)", l.MaxInFlight, c.MaxInFlight)
		case l.MaxInFlight <= 0:
			l.MaxInFlight = c.MaxInFlight
		}
	}
	if c.MaxBody > 0 {
		for fi := range p.Flows {
			f := &p.Flows[fi]
			for si := range f.Steps {
				st := &f.Steps[si]
				if len(st.Body) > c.MaxBody {
					return fmt.Errorf("flow %q step %q: a body of %d bytes exceeds this agent's cap of %d (--max-body)", f.Name, st.Name, len(st.Body), c.MaxBody)
				}
				if kept := st.MaxBody; kept <= 0 && engine.DefaultMaxBody > c.MaxBody || kept > c.MaxBody {
					st.MaxBody = c.MaxBody
				}
			}
		}
	}
	return nil
}

// agentRate is the most iterations per second p starts on this agent: its
// segment's share of the open model's peak (arrivals are split) or of the
// closed model's max_rate (0: unpaced).
func agentRate(p *engine.Plan) float64 {
	l := &p.Load
	if l.Model == engine.Closed {
		if p.Segment.Count > 1 {
			return l.MaxRate / float64(p.Segment.Count)
		}
		return l.MaxRate
	}
	peak := l.StartRate
	for _, s := range l.Stages {
		peak = max(peak, s.Target)
	}
	if p.Segment.Count > 1 {
		peak /= float64(p.Segment.Count)
	}
	return peak
}

// agentUsers is the most users of a closed-model plan this agent runs:
// users are split among the segments like arrivals.
func agentUsers(p *engine.Plan) float64 {
	users := p.Load.StartRate
	for _, s := range p.Load.Stages {
		users = max(users, s.Target)
	}
	if p.Segment.Count > 1 {
		users = math.Ceil(math.Round(users) / float64(p.Segment.Count))
	}
	return users
}

// peakText describes the plan's peak on this agent for the audit line.
func peakText(p *engine.Plan) string {
	if p.Load.Model != engine.Closed {
		return fmt.Sprintf("rate %s/s", num(agentRate(p)))
	}
	users := agentUsers(p)
	if p.Load.MaxRate > 0 {
		return fmt.Sprintf("%s users, rate %s/s", num(users), num(agentRate(p)))
	}
	return fmt.Sprintf("%s users, unpaced", num(users))
}

// num writes a rate or a count for a person: at most 3 decimals, never in
// scientific notation (%g writes 20000 as 2e+04; docs/reports.md, "Values
// a person reads").
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*1000)/1000, 'f', -1, 64)
}
