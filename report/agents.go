package report

import (
	"fmt"
	"strconv"
)

// Agent statuses, as the coordinator reports them.
const (
	AgentComplete = "complete"
	AgentLost     = "lost"
)

// Agent is one agent of a distributed run as the coordinator saw it.
type Agent struct {
	Addr      string  `json:"addr"`                // host:port the coordinator dialed
	Name      string  `json:"name,omitempty"`      // the agent's own name (hostname)
	Segment   string  `json:"segment"`             // its share of the arrivals, "I/N"
	Status    string  `json:"status"`              // "complete" or "lost"
	Reason    string  `json:"reason,omitempty"`    // why it was lost (redacted, short)
	Intervals int     `json:"intervals"`           // interval snapshots merged from it
	Requests  int64   `json:"requests"`            // http_reqs it measured (merged)
	Planned   int64   `json:"planned"`             // arrivals of its share of the schedule
	Started   int64   `json:"started"`             // iterations it started
	LostAtS   float64 `json:"lost_at_s,omitempty"` // seconds from the measurement start
	// Late counts the intervals merged without it because it was late; its
	// data for them went into later intervals (totals stay exact).
	Late int `json:"late_intervals,omitempty"`
}

// Coverage is Started/Planned (1 when Planned is 0).
func (a Agent) Coverage() float64 {
	if a.Planned == 0 {
		return 1
	}
	return float64(a.Started) / float64(a.Planned)
}

// agentsOf copies the coordinator's agents into a Summary: free text is
// redacted (the coordinator should have done it; a report must not rely on
// that) and lost_at_s is kept to the millisecond like every other time. It
// returns nil for a single-host run, so that "agents" is left out of the
// JSON.
func agentsOf(as []Agent, red *Redactor) []Agent {
	if len(as) == 0 {
		return nil
	}
	out := make([]Agent, len(as))
	for i, a := range as {
		a.Addr = red.String(a.Addr)
		a.Name = red.String(a.Name)
		a.Reason = red.String(a.Reason)
		a.LostAtS = round(a.LostAtS, 3)
		out[i] = a
	}
	return out
}

// agentsLost counts the lost agents.
func agentsLost(as []Agent) int {
	n := 0
	for _, a := range as {
		if a.Status == AgentLost {
			n++
		}
	}
	return n
}

// agentLabel is the agent's address, with its own name when it gave one.
func agentLabel(a Agent) string {
	if a.Name == "" || a.Name == a.Addr {
		return a.Addr
	}
	return a.Addr + " (" + a.Name + ")"
}

// agentCoverage is "99.88% (2497 of 2500)": the share of its arrivals the
// agent started.
func agentCoverage(a Agent) string {
	return fmt.Sprintf("%s (%d of %d)", fmtShare(a.Coverage()), a.Started, a.Planned)
}

// agentLoss is "lost at 4.0 s: connection reset", or "" for an agent that
// was not lost.
func agentLoss(a Agent) string {
	if a.Status != AgentLost {
		return ""
	}
	s := "lost at " + strconv.FormatFloat(a.LostAtS, 'f', 1, 64) + " s"
	if a.Reason != "" {
		s += ": " + a.Reason
	}
	return s
}
