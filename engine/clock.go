package engine

import (
	"container/heap"
	"math"
	"sync"
	"time"

	"github.com/loadgate/loadgate/histogram"
)

// clock is the one timer of a run. Every wait of the run goes through it —
// for an arrival's intended time, a think time, a paced slot, a deferred
// read — so that waits due at about the same moment end in one wake-up of
// the process instead of one each.
//
// Why: a wake-up is the generator's main cost at moderate rates. Each one
// is a trip through the kernel's idle loop and scheduler (tens of µs of CPU
// on a virtual machine, where the timer interrupt and the halt trap to the
// hypervisor), and it buys a single request when every arrival wakes the
// process on its own (figures: docs/performance.md).
//
// Coalescing: wake-ups are at least slack apart. A wait due less than slack
// after the last wake-up ends at last+slack, together with every other
// wait due by then. So the process wakes at most 1/slack times a second
// whatever the rate, an arrival starts at most slack late (schedule_lag,
// and its latency, which counts from the intended time), and a run with
// arrivals more than slack apart is served exactly on time. A slack of 0
// wakes for every due time.
//
// Waiters are kept in a heap by due time, and a wake-up signals only the
// ones due: a thousand users in a think time cost nothing while they wait.
//
// Concurrency: wait and nextWake may be called from any goroutine, each
// with a waiter of its own; run is the clock's goroutine; stop may be
// called from any goroutine.
type clock struct {
	since func() time.Duration
	slack time.Duration
	alarm alarm

	mu sync.Mutex
	// guarded by mu
	waiters waitHeap
	armed   time.Duration // when the alarm will ring; never when it is not set
	last    time.Duration // when the last wake-up happened; -slack before the first
	stopped bool
	// wakes counts the alarm's rings, and late how long after the instant
	// it was set for each one came (the host's timer and scheduling
	// latency): what a run's schedule_lag adds on top of the slack, and
	// why a host allows a shorter or longer one (docs/metrics.md,
	// generator.wakeups).
	wakes int64
	late  *histogram.Histogram
}

// waiter is one goroutine's place in a clock. A worker owns one and uses
// it for all its waits; its fields are guarded by the clock's mu.
type waiter struct {
	cond sync.Cond // on the clock's mu; signalled when due or stopped
	at   time.Duration
	due  bool
}

// never is an offset no wait reaches.
const never = time.Duration(math.MaxInt64)

// alarm is the kernel (or runtime) timer behind a clock: one pending
// instant, set from any goroutine, waited for by the clock's goroutine.
type alarm interface {
	// set makes the alarm ring at offset at of the run, replacing any
	// instant set before.
	set(at time.Duration)
	// wait blocks until the alarm rings, or returns false once the alarm
	// is closed.
	wait() bool
	// close is called once, by clock.stop.
	close()
}

// newClock returns a clock whose offsets are those of since. A nil alarm
// (the platform has no kernel timer for us, or the caller wants Go timers
// only) is replaced by a Go timer.
func newClock(since func() time.Duration, slack time.Duration, a alarm) *clock {
	if a == nil {
		a = newGoAlarm(since)
	}
	return &clock{since: since, slack: slack, alarm: a, armed: never, last: -slack, late: histogram.New()}
}

// newWaiter returns a waiter for one goroutine's waits on c.
func (c *clock) newWaiter() *waiter {
	w := &waiter{}
	w.cond.L = &c.mu
	return w
}

// run rings the waiters until the clock stops; it is the clock's goroutine.
func (c *clock) run() {
	for c.alarm.wait() {
		c.mu.Lock()
		c.ring()
		c.mu.Unlock()
	}
}

// ring releases every waiter due and sets the alarm for the next one.
// Called with mu held.
func (c *clock) ring() {
	// The wake-up counts as happening at the instant that rang even if
	// the offsets read a few ns short of the kernel's clock, so that the
	// waiters due then are released now and not by another alarm.
	now := c.since()
	if c.armed != never {
		c.wakes++
		c.late.Record(max(now-c.armed, 0))
	}
	c.last = max(now, c.armed)
	c.armed = never
	for len(c.waiters) > 0 && c.waiters[0].at <= c.last {
		w := heap.Pop(&c.waiters).(*waiter)
		w.due = true
		w.cond.Signal()
	}
	if len(c.waiters) > 0 {
		c.arm(c.waiters[0].at)
	}
}

// wakeStats returns how many times the alarm rang, and a compact
// read-only copy of how late it rang (nil before the first ring).
func (c *clock) wakeStats() (int64, *histogram.Histogram) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wakes == 0 {
		return 0, nil
	}
	return c.wakes, c.late.Freeze()
}

// stop ends every wait and the clock's goroutine. Later calls do nothing.
func (c *clock) stop() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	for _, w := range c.waiters {
		w.cond.Signal()
	}
	c.waiters = nil
	c.mu.Unlock()
	c.alarm.close()
}

// wait blocks w's goroutine until offset at, or until the clock stops; it
// reports false when the clock stopped first.
func (c *clock) wait(w *waiter, at time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waitLocked(w, at)
}

// nextWake blocks w's goroutine until the clock's next wake-up, when that
// is due within slack of the last one: the moment the process wakes anyway
// for the arrivals due then. It returns at once when the clock has been
// idle for longer than slack, or has stopped.
func (c *clock) nextWake(w *waiter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.slack > 0 {
		c.waitLocked(w, c.last+c.slack)
	}
}

func (c *clock) waitLocked(w *waiter, at time.Duration) bool {
	if c.stopped {
		return false
	}
	if at <= max(c.since(), c.last) {
		return true
	}
	w.at, w.due = at, false
	heap.Push(&c.waiters, w)
	c.arm(at)
	for !w.due && !c.stopped {
		w.cond.Wait()
	}
	return w.due
}

// arm makes the alarm ring at at unless it rings earlier already. Called
// with mu held.
func (c *clock) arm(at time.Duration) {
	at = max(at, c.last+c.slack)
	if at < c.armed {
		c.armed = at
		c.alarm.set(at)
	}
}

// waitHeap orders waiters by due time (container/heap).
type waitHeap []*waiter

func (h waitHeap) Len() int           { return len(h) }
func (h waitHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h waitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *waitHeap) Push(x any)        { *h = append(*h, x.(*waiter)) }
func (h *waitHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return w
}

// goAlarm is an alarm on a Go timer: portable and followed by
// testing/synctest's virtual clock, but Go's timers sleep in epoll_wait,
// whose timeout counts whole milliseconds, so an alarm due in 200 µs rings
// up to a millisecond late.
type goAlarm struct {
	since func() time.Duration
	t     *time.Timer
	done  chan struct{}
}

func newGoAlarm(since func() time.Duration) *goAlarm {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &goAlarm{since: since, t: t, done: make(chan struct{})}
}

func (a *goAlarm) set(at time.Duration) { a.t.Reset(at - a.since()) }

func (a *goAlarm) wait() bool {
	select {
	case <-a.t.C:
		return true
	case <-a.done:
		a.t.Stop()
		return false
	}
}

func (a *goAlarm) close() { close(a.done) }
