package gate

import (
	"fmt"

	"github.com/loadgate/loadgate/cluster"
	"github.com/loadgate/loadgate/report"
	"github.com/loadgate/loadgate/verdict"
)

// agentReports turns what the coordinator saw of its agents into the
// reports' agents section.
func agentReports(c *cluster.Coordinator) []report.Agent {
	if c == nil {
		return nil
	}
	var out []report.Agent
	for _, a := range c.Status() {
		r := report.Agent{
			Addr: a.Addr, Name: a.Name, Segment: fmt.Sprintf("%d/%d", a.Segment.Index, a.Segment.Count),
			Status: report.AgentComplete, Intervals: a.Intervals, Requests: a.Requests, Planned: a.Planned, Started: a.Started,
			Late: a.Late,
		}
		if a.Lost {
			r.Status, r.Reason, r.LostAtS = report.AgentLost, a.Reason, a.LostAt.Seconds()
		}
		out = append(out, r)
	}
	return out
}

// judgeAgents adds a reason per lost agent: inconclusive (exit 4), or only
// a note with --tolerate-agent-loss.
func (s *session) judgeAgents(v *verdict.Causes) {
	if s.Coordinator == nil {
		return
	}
	agents := agentReports(s.Coordinator)
	complete := 0
	for _, r := range agents {
		if r.Status == report.AgentComplete {
			complete++
		}
	}
	if complete == 0 {
		// Tolerating a loss needs someone left to measure.
		v.Add(verdict.Inconclusive, fmt.Sprintf("every one of the %d agents was lost: the run measured only what they sent before", len(agents)))
	}
	for _, r := range agents {
		if r.Status != report.AgentLost {
			continue
		}
		what := fmt.Sprintf("agent %s (segment %s) lost at %.1f s: %s; its %d requests until then are kept (coverage %.0f%% of its arrivals)",
			r.Addr, r.Segment, r.LostAtS, r.Reason, r.Requests, 100*r.Coverage())
		if s.TolerateAgentLoss {
			v.Add(verdict.Passed, what+"; tolerated by --tolerate-agent-loss")
		} else {
			v.Add(verdict.Inconclusive, what)
		}
	}
}

// failAgents ends a run that could not start on every agent: exit 3 with
// one reason per agent; nothing was sent.
func (s *session) failAgents(pe *cluster.PreflightError) int {
	v := &verdict.Causes{}
	for _, a := range pe.Agents {
		msg := fmt.Sprintf("agent %s: %v", a.Addr, a.Err)
		fmt.Fprintf(s.Stderr, "loadgate: %s\n", msg)
		v.Add(verdict.PreflightFailed, msg)
	}
	fmt.Fprintln(s.Stderr, "loadgate: nothing was sent")
	s.notStarted = true
	return s.finish(v, nil, false)
}
