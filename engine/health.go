package engine

import (
	"fmt"
	"time"
)

// Tolerances bound the generator's own health (docs/reliability.md, row
// 13): past them a run's numbers say more about the generator than about
// the target, and the run is inconclusive rather than passed or failed.
// Only the generator's own part is judged: the lateness of arrivals that
// had a free slot (schedule_lag), and the arrivals it did not start while
// a slot was free. Arrivals that waited for a slot or found none because
// max_in_flight was full of slow responses are the target's doing
// (slot_wait, KindNoFreeSlot; docs/metrics.md). The zero value is not the
// default: use DefaultTolerances.
type Tolerances struct {
	// MaxLagP99 is the largest acceptable p99 of schedule_lag.
	MaxLagP99 time.Duration
	// MinAchieved is the smallest acceptable share of planned arrivals
	// started (open model), in (0, 1], among those that did not find
	// every slot busy (Period.Dropped).
	MinAchieved float64
	// AllowLocalErrors accepts requests that failed for want of local file
	// descriptors or ports.
	AllowLocalErrors bool
}

// DefaultTolerances: lag p99 ≤ 50 ms, ≥ 95% of planned arrivals started,
// no local exhaustion.
func DefaultTolerances() Tolerances {
	return Tolerances{MaxLagP99: 50 * time.Millisecond, MinAchieved: 0.95}
}

// HealthProblem is one way the generator fell short.
type HealthProblem struct {
	// Check names the tolerance: "schedule_lag", "achieved" or a local
	// error kind ("fd", "local_port").
	Check   string
	Message string
}

// Problems lists why the measurement of total (a run's whole Period)
// cannot be trusted under t. It is the end-of-run verdict.
func (t Tolerances) Problems(m Model, total *Period) []HealthProblem {
	if total == nil {
		return nil
	}
	var out []HealthProblem
	if m == Open {
		out = t.lag(total, out)
		if due := total.Planned - total.Dropped; due > 0 && float64(total.Started) < t.MinAchieved*float64(due) {
			out = append(out, t.achieved(total.Started, due, total.Dropped))
		}
	}
	return t.local(total, out)
}

// liveMinSamples is how many lag samples a live verdict needs: the first
// few arrivals of a run say little about its p99.
const liveMinSamples = 50

// Live lists the problems visible while the run goes on, from the running
// totals of the previous and the current snapshot, and the arrivals
// waiting for a free slot at the current one (Snapshot.Waiting). It is
// conservative, so that a warning is never a false alarm: an arrival
// counts as missing only when it was due by the previous snapshot and has
// neither started, nor been dropped, nor is waiting for a slot by this one
// (a whole interval late), and the lag needs liveMinSamples.
func (t Tolerances) Live(m Model, prev, cur *Period, waiting int64) []HealthProblem {
	if cur == nil {
		return nil
	}
	var out []HealthProblem
	if m == Open {
		if cur.Lag != nil && cur.Lag.Count() >= liveMinSamples {
			out = t.lag(cur, out)
		}
		if prev != nil && prev.Planned >= liveMinSamples {
			due := prev.Planned - cur.Dropped - waiting
			if float64(cur.Started) < t.MinAchieved*float64(due) {
				out = append(out, t.achieved(cur.Started, due, cur.Dropped+waiting))
			}
		}
	}
	return t.local(cur, out)
}

func (t Tolerances) lag(p *Period, out []HealthProblem) []HealthProblem {
	if p.Lag == nil {
		return out
	}
	if q := p.Lag.Quantile(0.99); q > t.MaxLagP99 {
		out = append(out, HealthProblem{"schedule_lag", fmt.Sprintf("generator fell behind: schedule_lag p99 %v > %v", q.Round(time.Millisecond), t.MaxLagP99)})
	}
	return out
}

// achieved is the problem of a generator that started started of the due
// arrivals that had a free slot; noSlot others found none.
func (t Tolerances) achieved(started, due, noSlot int64) HealthProblem {
	msg := fmt.Sprintf("generator fell behind: started %d of %d planned iterations (%.1f%% < %.0f%%)",
		started, due, 100*float64(started)/float64(due), 100*t.MinAchieved)
	if noSlot > 0 {
		msg = fmt.Sprintf("generator fell behind: started %d of the %d planned iterations that had a free slot (%.1f%% < %.0f%%; %d more found max_in_flight full)",
			started, due, 100*float64(started)/float64(due), 100*t.MinAchieved, noSlot)
	}
	return HealthProblem{"achieved", msg}
}

func (t Tolerances) local(p *Period, out []HealthProblem) []HealthProblem {
	if t.AllowLocalErrors {
		return out
	}
	var n [NumKinds]int64
	for _, f := range p.Steps {
		for _, st := range f {
			for k, c := range st.Errors {
				n[k] += c
			}
		}
	}
	for k := Kind(0); k < NumKinds; k++ {
		if k.local() && n[k] > 0 {
			out = append(out, HealthProblem{k.String(), fmt.Sprintf("local resource exhaustion: %d requests failed with %s%s", n[k], k, localHint(k))})
		}
	}
	return out
}

func localHint(k Kind) string {
	switch k {
	case KindFD:
		return " (raise the open-files limit, ulimit -n, or lower max_in_flight)"
	case KindLocalPort:
		return " (ephemeral ports ran out: keep connections alive, widen net.ipv4.ip_local_port_range, or spread over agents)"
	}
	return ""
}
