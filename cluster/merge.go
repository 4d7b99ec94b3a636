package cluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/loadgate/loadgate/engine"
)

// merger is the state of one distributed run after the start: it owns the
// agents' run state, the pending intervals and the running total, and is
// used by Run's goroutine alone (the readers and senders it starts touch
// only their agent's connection).
type merger struct {
	c        *Coordinator
	plan     *engine.Plan
	agents   []*remote
	obs      []engine.Observer
	start    time.Time
	deadline time.Duration // how long an interval waits for late agents
	events   chan event
	pending  map[int]*slot
	next     int // the next sequence number to publish
	prevEnd  time.Duration
	total    *engine.Sum
	samples  [engine.NumKinds]string
	last     *engine.Snapshot
	panic    error
	// stopping is set once the agents were told to stop: an agent's run
	// that ends early without that is a loss.
	stopping bool
	// exhausted is set when an agent's data ran out: the others stop too,
	// as a single host would.
	exhausted bool
	// wg counts every goroutine the merger starts; loop waits for them.
	wg sync.WaitGroup
}

// slot gathers the agents' intervals of one sequence number.
type slot struct {
	sum   *engine.Sum
	got   map[*remote]bool
	first time.Time // when its first interval arrived
	end   time.Duration
}

// endMargin is added to the plan's length, grace and interval deadline to
// bound the whole run, whatever the agents do: an agent that sends only
// heartbeats cannot keep the coordinator (and a CI job) waiting forever.
const endMargin = 10 * time.Second

func newMerger(c *Coordinator, p *engine.Plan, agents []*remote, obs []engine.Observer) *merger {
	deadline := c.IntervalDeadline
	if deadline <= 0 {
		deadline = DefaultIntervalDeadline
	}
	return &merger{
		c: c, plan: p, agents: agents, obs: obs, next: 1, deadline: deadline,
		events:  make(chan event, 2*len(agents)),
		pending: map[int]*slot{},
		total:   engine.NewSum(p),
	}
}

// loop runs the load to its end: it starts the readers and the heartbeats,
// merges what arrives, and stops every agent when ctx is cancelled or an
// observer panics. Every goroutine it started has exited when it returns.
func (m *merger) loop(ctx context.Context) *engine.Result {
	quit := make(chan struct{})
	for _, a := range m.agents {
		a.lastInterval = m.start
		m.wg.Go(func() { read(a, m.plan, m.events, quit) })
	}
	m.wg.Go(func() { m.heartbeats(quit) })
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	grace := m.plan.StopGrace()
	end := m.start.Add(m.plan.Load.Duration() + grace + engine.DefaultGrace + m.deadline + endMargin)
	var stopped error
	stop := func(cause error) {
		if stopped != nil {
			return
		}
		stopped = cause
		m.stopAgents(cause.Error())
		end = minTime(end, time.Now().Add(grace+engine.DefaultGrace+m.deadline))
	}
	ctxDone := ctx.Done()
	for m.running() > 0 {
		select {
		case ev := <-m.events:
			m.handle(ev)
		case <-ctxDone:
			ctxDone = nil
			stop(context.Cause(ctx))
		case now := <-tick.C:
			m.loseSilent(now)
			if now.After(end) {
				for _, a := range m.agents {
					if a.running() {
						m.lose(a, errors.New("did not finish by the end of the plan and its grace period"))
					}
				}
			}
		}
		m.publishReady()
		if m.panic != nil {
			stop(m.panic)
		}
		if m.exhausted {
			m.stopAgents("the data ran out on another agent")
		}
	}
	for _, a := range m.agents {
		a.fc.c.Close()
	}
	close(quit)
	m.wg.Wait()
	final := m.flush()
	res := &engine.Result{Start: m.start, Elapsed: final.Total.End, Final: final, Stopped: stopped}
	for _, a := range m.agents {
		if a.exhausted != "" && res.Exhausted == nil {
			res.Exhausted = errors.New(a.exhausted)
		}
	}
	return res
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// stopAgents tells every agent still running to stop, once.
func (m *merger) stopAgents(reason string) {
	if m.stopping {
		return
	}
	m.stopping = true
	for _, a := range m.agents {
		if a.running() {
			m.wg.Go(func() { a.fc.send(msgStop, stopMsg{Reason: reason}) })
		}
	}
}

// loseSilent loses agents that sent no interval for long, while their
// heartbeats may go on: their load is stuck.
func (m *merger) loseSilent(now time.Time) {
	every := m.plan.Interval
	if every <= 0 {
		every = engine.DefaultInterval
	}
	limit := 5*every + m.deadline
	for _, a := range m.agents {
		if a.running() && a.finalSeq == 0 && now.Sub(a.lastInterval) > limit {
			m.lose(a, fmt.Errorf("no interval for %v although its connection is alive", limit))
		}
	}
}

// running counts the agents still expected to send something.
func (m *merger) running() int {
	n := 0
	for _, a := range m.agents {
		if a.running() {
			n++
		}
	}
	return n
}

// heartbeats tells every agent once per HeartbeatEvery that the
// coordinator is alive, each on a goroutine of its own so that one stuck
// connection does not delay the others'.
func (m *merger) heartbeats(quit <-chan struct{}) {
	t := time.NewTicker(HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case <-t.C:
			for _, a := range m.agents {
				m.wg.Go(func() { a.fc.send(msgHeartbeat, struct{}{}) })
			}
		}
	}
}

func (m *merger) handle(ev event) {
	a := ev.a
	if !a.running() {
		return
	}
	switch {
	case ev.err != nil:
		m.lose(a, ev.err)
	case ev.done != nil:
		if err := m.checkDone(a, ev.done); err != nil {
			m.lose(a, err)
			return
		}
		a.done = true
		a.fc.c.Close()
		if a.exhausted = ev.done.Exhausted; a.exhausted != "" {
			m.exhausted = true
		}
	default:
		m.add(a, ev.iv, ev.per)
	}
}

// checkDone compares an agent's final totals with what arrived from it; a
// run that ended early without being told to is a loss too.
func (m *merger) checkDone(a *remote, d *doneMsg) error {
	switch {
	case d.Requests != a.requests || d.Intervals != a.intervals:
		return fmt.Errorf("its totals (%d requests in %d intervals) differ from what arrived (%d in %d)",
			d.Requests, d.Intervals, a.requests, a.intervals)
	case d.Stopped != "" && !m.stopping:
		return fmt.Errorf("its run stopped on its own: %s", shorten(d.Stopped, maxErrorText))
	}
	return nil
}

// add merges one interval of agent a. An interval whose sequence number was
// already published (the agent was late) goes into the next one, so that
// the total stays the exact sum of everything received.
func (m *merger) add(a *remote, iv *intervalMsg, per *engine.Period) {
	a.intervals++
	a.requests += requests(per)
	a.started += per.Started
	a.inFlight, a.waiting, a.plannedTotal = iv.InFlight, iv.Waiting, iv.PlannedTotal
	a.lastInterval = time.Now()
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
		s = &slot{sum: engine.NewSum(m.plan), got: map[*remote]bool{}, first: time.Now()}
		m.pending[seq] = s
	}
	s.sum.Add(per)
	s.end = max(s.end, per.End)
	if iv.Seq == seq {
		s.got[a] = true
	}
}

// lose marks a lost; what it sent so far stays merged.
func (m *merger) lose(a *remote, err error) {
	a.lost = true
	a.reason = err.Error()
	var fe *FrameError
	if errors.As(err, &fe) {
		a.reason = "rejected: " + fe.Error()
	}
	a.lostAt = time.Since(m.start)
	a.fc.c.Close()
	m.c.setStatus(m.status())
	if m.c.Log != nil {
		fmt.Fprintf(m.c.Log, "loadgate: agent %s lost at %.1f s: %s; its data until then is kept\n", a.addr, a.lostAt.Seconds(), a.reason)
	}
}

// publishReady publishes, in order, every interval that each agent still
// running has delivered, or that waited longer than deadline for the rest.
func (m *merger) publishReady() {
	for {
		s := m.pending[m.next]
		if s == nil {
			return
		}
		complete := m.complete(s)
		if !complete && time.Since(s.first) < m.deadline {
			return
		}
		if len(m.pending) == 1 && m.allFinal() {
			return // the last interval: flush publishes it as the final snapshot
		}
		if !complete {
			m.noteLate(s)
		}
		delete(m.pending, m.next)
		m.publish(s, false)
	}
}

// noteLate marks an interval published without some agents: each late
// agent's count grows, and the log says which; their data for it will go
// into a later interval.
func (m *merger) noteLate(s *slot) {
	var late []string
	for _, a := range m.agents {
		if m.owes(a, s) {
			a.late++
			late = append(late, a.addr)
		}
	}
	if m.c.Log != nil {
		fmt.Fprintf(m.c.Log, "loadgate: interval %d merged without %s after %v; what they send for it goes into a later interval\n",
			m.next, strings.Join(late, ", "), m.deadline)
	}
}

// owes reports whether agent a will still send interval m.next, gathered
// in s: it runs, has not sent its final interval before, and has not sent
// this one.
func (m *merger) owes(a *remote, s *slot) bool {
	return a.running() && !(a.finalSeq > 0 && a.finalSeq < m.next) && !s.got[a]
}

// complete reports whether every agent that will send interval m.next has.
func (m *merger) complete(s *slot) bool {
	for _, a := range m.agents {
		if m.owes(a, s) {
			return false
		}
	}
	return true
}

// allFinal reports whether no agent will send another interval.
func (m *merger) allFinal() bool {
	for _, a := range m.agents {
		if a.running() && a.finalSeq == 0 {
			return false
		}
	}
	return true
}

// flush publishes what is still pending, in order, the last snapshot
// marked final, and returns it.
func (m *merger) flush() *engine.Snapshot {
	seqs := slices.Sorted(maps.Keys(m.pending))
	for i, seq := range seqs {
		if i == len(seqs)-1 {
			return m.publish(m.pending[seq], true)
		}
		m.publish(m.pending[seq], false)
	}
	return m.publish(&slot{sum: engine.NewSum(m.plan), end: m.prevEnd}, true)
}

// publish turns a slot into the next snapshot and hands it to every
// observer.
func (m *merger) publish(s *slot, final bool) *engine.Snapshot {
	end := max(s.end, m.prevEnd)
	iv := s.sum.Period(m.prevEnd, end)
	m.total.Add(iv)
	snap := &engine.Snapshot{
		Seq: m.next, Time: time.Now(), Interval: iv, Total: m.total.Period(0, end),
		ErrorSamples: m.samples, Final: final,
	}
	for _, a := range m.agents {
		snap.PlannedTotal += a.plannedTotal
		if a.running() {
			snap.InFlight += a.inFlight
			snap.Waiting += a.waiting
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
	m.c.setStatus(m.status())
	return snap
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
