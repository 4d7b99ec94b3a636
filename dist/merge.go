package dist

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/loadgate/loadgate/engine"
)

// merger is the state of one distributed run after the start: it owns the
// agents' run state, the pending intervals and the running total, and is
// used by Run's goroutine alone.
type merger struct {
	plan    *engine.Plan
	agents  []*remote
	obs     []engine.Observer
	start   time.Time
	events  chan event
	pending map[int]*slot
	next    int // the next sequence number to publish
	prevEnd time.Duration
	total   *engine.Sum
	samples [engine.NumKinds]string
	free    []*engine.Sum // sums of published slots, reset for reuse
	last    *engine.Snapshot
	panic   error
	// stopping is set once the agents were told to stop: an agent's run
	// that ends early without that is a loss.
	stopping bool
}

// slot gathers the agents' intervals of one sequence number.
type slot struct {
	sum   *engine.Sum
	got   map[*remote]bool
	first time.Time // when its first interval arrived
	end   time.Duration
}

func newMerger(p *engine.Plan, agents []*remote, obs []engine.Observer) *merger {
	return &merger{
		plan: p, agents: agents, obs: obs, next: 1,
		events:  make(chan event, 2*len(agents)),
		pending: map[int]*slot{},
		total:   engine.NewSum(p),
	}
}

// loop runs the load to its end: it starts the readers and the heartbeats,
// merges what arrives, and stops every agent when ctx is cancelled or an
// observer panics.
func (m *merger) loop(ctx context.Context, c *Coordinator) *engine.Result {
	deadline := c.IntervalDeadline
	if deadline <= 0 {
		deadline = DefaultIntervalDeadline
	}
	quit := make(chan struct{})
	defer close(quit)
	for _, a := range m.agents {
		go read(a, m.plan, m.events, quit)
	}
	hbDone := make(chan struct{})
	go m.heartbeats(hbDone)
	defer close(hbDone)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var stopped error
	var giveUp time.Time // after a stop: when agents that did not finish are given up
	stop := func(cause error) {
		if stopped != nil {
			return
		}
		stopped, m.stopping = cause, true
		giveUp = time.Now().Add(m.plan.Grace + engine.DefaultGrace + deadline)
		for _, a := range m.agents {
			if !a.done && !a.lost {
				go a.fc.send(msgStop, stopMsg{Reason: cause.Error()})
			}
		}
	}
	ctxDone := ctx.Done()
	for m.running() > 0 {
		select {
		case ev := <-m.events:
			m.handle(ev, c)
		case <-ctxDone:
			ctxDone = nil
			stop(context.Cause(ctx))
		case now := <-tick.C:
			if !giveUp.IsZero() && now.After(giveUp) {
				for _, a := range m.agents {
					if !a.done && !a.lost {
						m.lose(a, c, errors.New("did not finish within the grace period after the stop"))
					}
				}
			}
		}
		m.publishReady(c, deadline)
		if m.panic != nil {
			stop(m.panic)
		}
	}
	for _, a := range m.agents {
		a.fc.c.Close()
	}
	final := m.flush()
	res := &engine.Result{Start: m.start, Elapsed: final.Total.End, Final: final, Stopped: stopped}
	for _, a := range m.agents {
		if a.exhausted != "" && res.Exhausted == nil {
			res.Exhausted = errors.New(a.exhausted)
		}
	}
	return res
}

// running counts the agents still expected to send something.
func (m *merger) running() int {
	n := 0
	for _, a := range m.agents {
		if !a.done && !a.lost {
			n++
		}
	}
	return n
}

// heartbeats tells every agent once per HeartbeatEvery that the
// coordinator is alive.
func (m *merger) heartbeats(done <-chan struct{}) {
	t := time.NewTicker(HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			for _, a := range m.agents {
				go a.fc.send(msgHeartbeat, struct{}{})
			}
		}
	}
}

func (m *merger) handle(ev event, c *Coordinator) {
	a := ev.a
	if a.lost || a.done {
		return
	}
	switch {
	case ev.err != nil:
		m.lose(a, c, ev.err)
	case ev.done != nil:
		a.done = true
		a.fc.c.Close()
		if d := ev.done; d.Requests != a.requests || d.Intervals != a.intervals {
			a.done = false
			m.lose(a, c, fmt.Errorf("its totals (%d requests in %d intervals) differ from what arrived (%d in %d)",
				d.Requests, d.Intervals, a.requests, a.intervals))
			return
		}
		if d := ev.done; d.Stopped != "" && !m.stopping {
			a.done = false
			m.lose(a, c, fmt.Errorf("its run stopped on its own: %s", shorten(d.Stopped, maxErrorText)))
			return
		}
		a.exhausted = ev.done.Exhausted
	default:
		m.add(a, ev.iv, ev.per)
	}
}

// add merges one interval of agent a. An interval whose sequence number was
// already published (the agent was late) goes into the next one, so that
// the total stays the exact sum of everything received.
func (m *merger) add(a *remote, iv *intervalMsg, per *engine.Period) {
	a.intervals++
	a.requests += requests(per)
	a.started += per.Started
	a.inFlight, a.plannedTotal = iv.InFlight, iv.PlannedTotal
	if iv.Final {
		a.finalSeq = iv.Seq
	}
	for k, s := range iv.Errors {
		if s != "" && m.samples[k] == "" {
			m.samples[k] = s
		}
	}
	seq := max(iv.Seq, m.next)
	s := m.pending[seq]
	if s == nil {
		s = &slot{sum: m.newSum(), got: map[*remote]bool{}, first: time.Now()}
		m.pending[seq] = s
	}
	s.sum.Add(per)
	s.end = max(s.end, per.End)
	if iv.Seq == seq {
		s.got[a] = true
	}
}

// lose marks a lost; what it sent so far stays merged.
func (m *merger) lose(a *remote, c *Coordinator, err error) {
	a.lost = true
	var fe *FrameError
	if errors.As(err, &fe) {
		a.reason = "rejected: " + fe.Error()
	} else {
		a.reason = "lost: " + err.Error()
	}
	a.lostAt = time.Since(m.start)
	a.fc.c.Close()
	if c.Log != nil {
		fmt.Fprintf(c.Log, "loadgate: agent %s %s at %.1f s; its data until then is kept\n", a.addr, a.reason, a.lostAt.Seconds())
	}
}

// publishReady publishes, in order, every interval that each agent still
// running has delivered, or that waited longer than deadline for the rest.
func (m *merger) publishReady(c *Coordinator, deadline time.Duration) {
	for {
		s := m.pending[m.next]
		if s == nil {
			return
		}
		complete := m.complete(s)
		if !complete && time.Since(s.first) < deadline {
			return
		}
		if len(m.pending) == 1 && m.allFinal() {
			return // the last interval: flush publishes it as the final snapshot
		}
		if !complete {
			m.noteLate(c, s, deadline)
		}
		delete(m.pending, m.next)
		m.publish(s, false)
	}
}

// noteLate marks an interval published without some agents: each late
// agent's count grows, and the log says which; their data for it will go
// into a later interval.
func (m *merger) noteLate(c *Coordinator, s *slot, deadline time.Duration) {
	var late []string
	for _, a := range m.agents {
		if !a.lost && !a.done && !(a.finalSeq > 0 && a.finalSeq < m.next) && !s.got[a] {
			a.late++
			late = append(late, a.addr)
		}
	}
	if c.Log != nil {
		fmt.Fprintf(c.Log, "loadgate: interval %d merged without %s after %v; what they send for it goes into a later interval\n",
			m.next, strings.Join(late, ", "), deadline)
	}
}

// complete reports whether every agent that will send interval m.next has.
func (m *merger) complete(s *slot) bool {
	for _, a := range m.agents {
		ended := a.lost || a.done || (a.finalSeq > 0 && a.finalSeq < m.next)
		if !ended && !s.got[a] {
			return false
		}
	}
	return true
}

// allFinal reports whether no agent will send another interval.
func (m *merger) allFinal() bool {
	for _, a := range m.agents {
		if !a.lost && !a.done && a.finalSeq == 0 {
			return false
		}
	}
	return true
}

// flush publishes what is still pending, the last snapshot marked final,
// and returns it.
func (m *merger) flush() *engine.Snapshot {
	for {
		s := m.pending[m.next]
		if s == nil {
			// Late intervals may sit beyond a gap; fold them in order.
			for seq := range m.pending {
				if seq > m.next && m.pending[seq] != nil {
					s = m.pending[seq]
					delete(m.pending, seq)
					break
				}
			}
		} else {
			delete(m.pending, m.next)
		}
		if s == nil {
			break
		}
		if len(m.pending) == 0 {
			return m.publish(s, true)
		}
		m.publish(s, false)
	}
	return m.publish(&slot{sum: m.newSum(), end: m.prevEnd}, true)
}

// publish turns a slot into the next snapshot and hands it to every
// observer.
func (m *merger) publish(s *slot, final bool) *engine.Snapshot {
	end := max(s.end, m.prevEnd)
	iv := s.sum.Period(m.prevEnd, end)
	s.sum.Reset()
	m.free = append(m.free, s.sum)
	m.total.Add(iv)
	snap := &engine.Snapshot{
		Seq: m.next, Time: time.Now(), Interval: iv, Total: m.total.Period(0, end),
		ErrorSamples: m.samples, Final: final,
	}
	for _, a := range m.agents {
		snap.PlannedTotal += a.plannedTotal
		if !a.lost && !a.done {
			snap.InFlight += a.inFlight
		}
	}
	m.next++
	m.prevEnd = end
	live := m.obs[:0:0]
	for _, o := range m.obs {
		if err := observe(o, snap); err != nil {
			if m.panic == nil {
				m.panic = err
			}
			continue
		}
		live = append(live, o)
	}
	m.obs = live
	m.last = snap
	return snap
}

// newSum returns an empty Sum, reusing the memory of a published one: a
// Sum's writable histograms are large, and every interval needs a set.
func (m *merger) newSum() *engine.Sum {
	if n := len(m.free); n > 0 {
		s := m.free[n-1]
		m.free = m.free[:n-1]
		return s
	}
	return engine.NewSum(m.plan)
}

// status is the agents' state for reports.
func (m *merger) status() []AgentStatus {
	out := make([]AgentStatus, len(m.agents))
	for i, a := range m.agents {
		out[i] = AgentStatus{
			Addr: a.addr, Name: a.name, Segment: a.seg, Lost: a.lost, Reason: a.reason, LostAt: a.lostAt,
			Intervals: a.intervals, Late: a.late, Requests: a.requests, Planned: a.plannedTotal, Started: a.started,
		}
	}
	return out
}

func requests(p *engine.Period) int64 {
	var n int64
	for _, f := range p.Steps {
		for _, s := range f {
			n += s.Requests
		}
	}
	return n
}
