package engine

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// countingAlarm counts the rings of a Go-timer alarm: the process wake-ups
// a kernel alarm would cost.
type countingAlarm struct {
	*goAlarm
	rings atomic.Int64
}

func (a *countingAlarm) wait() bool {
	ok := a.goAlarm.wait()
	if ok {
		a.rings.Add(1)
	}
	return ok
}

// startClock runs a clock in virtual time; the caller stops it.
func startClock(t *testing.T, slack time.Duration) (*clock, *countingAlarm, func() time.Duration) {
	t.Helper()
	start := time.Now()
	since := func() time.Duration { return time.Since(start) }
	a := &countingAlarm{goAlarm: newGoAlarm(since)}
	c := newClock(since, slack, a)
	go c.run()
	return c, a, since
}

// TestClockCoalesces checks when waits end and how many wake-ups they
// cost, in virtual time (testing/synctest), where both are exact.
func TestClockCoalesces(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name  string
		slack time.Duration
		due   []time.Duration // one waiter each, all waiting from offset 0
		ends  []time.Duration // when each wait ends
		rings int64
	}{
		{
			// Without slack every distinct instant is a wake-up of its own;
			// waits due at the same instant share it.
			name: "no slack", slack: 0,
			due:  []time.Duration{1 * ms, 2 * ms, 2 * ms, 5 * ms},
			ends: []time.Duration{1 * ms, 2 * ms, 2 * ms, 5 * ms}, rings: 3,
		},
		{
			// The first wait is on time; the waits due within 1 ms of a
			// wake-up end 1 ms after it, together.
			name: "slack 1ms", slack: ms,
			due:  []time.Duration{200 * time.Microsecond, 400 * time.Microsecond, 1100 * time.Microsecond, 1300 * time.Microsecond, 1500 * time.Microsecond},
			ends: []time.Duration{200 * time.Microsecond, 1200 * time.Microsecond, 1200 * time.Microsecond, 2200 * time.Microsecond, 2200 * time.Microsecond}, rings: 3,
		},
		{
			// Waits further apart than the slack are served on time, one
			// wake-up each: a slow run keeps exact timing.
			name: "sparse", slack: ms,
			due:  []time.Duration{3 * ms, 6 * ms, 9 * ms},
			ends: []time.Duration{3 * ms, 6 * ms, 9 * ms}, rings: 3,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, a, since := startClock(t, tc.slack)
				defer c.stop()
				ends := make([]time.Duration, len(tc.due))
				var wg sync.WaitGroup
				for i, at := range tc.due {
					wg.Go(func() {
						if !c.wait(c.newWaiter(), at) {
							t.Errorf("wait %d ended by stop", i)
						}
						ends[i] = since()
					})
				}
				wg.Wait()
				for i := range tc.due {
					if ends[i] != tc.ends[i] {
						t.Errorf("wait for %v ended at %v, want %v", tc.due[i], ends[i], tc.ends[i])
					}
				}
				if got := a.rings.Load(); got != tc.rings {
					t.Errorf("%d wake-ups, want %d", got, tc.rings)
				}
				// In virtual time every ring is exactly on time.
				if n, late := c.wakeStats(); n != tc.rings || late == nil || late.Max() != 0 {
					t.Errorf("wakeStats = %d, %v; want %d rings, none late", n, late, tc.rings)
				}
			})
		})
	}
}

// waitEvery waits on c for n instants every apart, from every on, one
// after the other, and returns how late the latest wait ended.
func waitEvery(c *clock, since func() time.Duration, n int, every time.Duration) time.Duration {
	w := c.newWaiter()
	var worst time.Duration
	for i := 1; i <= n; i++ {
		at := time.Duration(i) * every
		c.wait(w, at)
		worst = max(worst, since()-at)
	}
	return worst
}

// lateAlarm rings a fixed delay after the instant it was set for: a host
// whose timer or scheduler is that slow.
type lateAlarm struct {
	*goAlarm
	delay time.Duration
}

func (a *lateAlarm) wait() bool {
	ok := a.goAlarm.wait()
	if ok {
		time.Sleep(a.delay)
	}
	return ok
}

// TestClockWakeLateness: the clock counts its wake-ups and measures how
// late each came after its due instant, what schedule_lag adds to the
// slack on a slow host (generator.wake_late_p99). A clock that never rang
// has no lateness to report.
func TestClockWakeLateness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		since := func() time.Duration { return time.Since(start) }
		c := newClock(since, time.Millisecond, &lateAlarm{goAlarm: newGoAlarm(since), delay: 300 * time.Microsecond})
		if n, late := c.wakeStats(); n != 0 || late != nil {
			t.Fatalf("before any wait: wakeStats = %d, %v", n, late)
		}
		go c.run()
		defer c.stop()
		worst := waitEvery(c, since, 100, 5*time.Millisecond)
		n, late := c.wakeStats()
		if n != 100 {
			t.Errorf("%d wake-ups for 100 waits 5 ms apart, want 100", n)
		}
		if late == nil || late.Count() != 100 {
			t.Fatalf("lateness of %v wake-ups recorded, want 100", late)
		}
		// The histogram keeps 3 significant digits.
		if p99, mx := late.Quantile(0.99), late.Max(); p99 < 299*time.Microsecond || mx > 301*time.Microsecond {
			t.Errorf("lateness p99 %v, max %v; want 300µs", p99, mx)
		}
		if worst != 300*time.Microsecond {
			t.Errorf("waits ended up to %v late, want the alarm's 300µs", worst)
		}
	})
}

// TestClockRate: at a steady 5,000 waits a second, a slack of 750 µs bounds
// the wake-ups to one per 750 µs (over the second of waits: the first at
// 200 µs, then 1,334 more up to the last) and no wait ends more than the
// slack late; without slack every wait is a wake-up of its own.
func TestClockRate(t *testing.T) {
	for _, tc := range []struct {
		slack     time.Duration
		maxRings  int64
		wantRings int64
	}{
		{slack: 0, wantRings: 5000},
		{slack: 750 * time.Microsecond, maxRings: 1335},
	} {
		synctest.Test(t, func(t *testing.T) {
			c, a, since := startClock(t, tc.slack)
			defer c.stop()
			worst := waitEvery(c, since, 5000, 200*time.Microsecond)
			rings := a.rings.Load()
			if tc.wantRings > 0 && rings != tc.wantRings || tc.maxRings > 0 && rings > tc.maxRings {
				t.Errorf("slack %v: %d wake-ups for 5000 waits", tc.slack, rings)
			}
			if worst > tc.slack {
				t.Errorf("slack %v: a wait ended %v late", tc.slack, worst)
			}
		})
	}
}

// TestClockNextWake: a deferred read waits for the wake-up due slack after
// the last one, and does not wait at all when the clock has been idle.
func TestClockNextWake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, a, since := startClock(t, time.Millisecond)
		defer c.stop()
		w := c.newWaiter()
		c.wait(w, 5*time.Millisecond) // the last wake-up: 5 ms
		time.Sleep(100 * time.Microsecond)
		c.nextWake(w)
		if got := since(); got != 6*time.Millisecond {
			t.Errorf("nextWake after a wake-up at 5 ms ended at %v, want 6ms", got)
		}
		time.Sleep(3 * time.Millisecond) // idle for longer than the slack
		before := a.rings.Load()
		c.nextWake(w)
		if got := since(); got != 9*time.Millisecond || a.rings.Load() != before {
			t.Errorf("nextWake on an idle clock waited until %v (%d wake-ups)", got, a.rings.Load()-before)
		}
	})
}

// TestClockStop: stop ends every wait at once with false, and waits after
// it return false without blocking.
func TestClockStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _, since := startClock(t, 0)
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				if c.wait(c.newWaiter(), time.Hour) {
					t.Error("a wait for an hour ended as due")
				}
			})
		}
		time.Sleep(time.Second)
		c.stop()
		wg.Wait()
		if since() != time.Second {
			t.Errorf("waits ended at %v, want 1s", since())
		}
		if c.wait(c.newWaiter(), 2*time.Second) {
			t.Error("a wait after stop reported due")
		}
		c.nextWake(c.newWaiter())
		c.stop() // a second stop does nothing
	})
}

// TestClockWaitDoesNotAllocateNoRace: a wait on the run's clock (a kernel timer
// where there is one) allocates nothing, like the request it precedes.
func TestClockWaitDoesNotAllocateNoRace(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on synchronisation; make test runs this without it")
	}
	start := time.Now()
	since := func() time.Duration { return time.Since(start) }
	a, err := newKernelAlarm(since)
	if err != nil && runtime.GOOS == "linux" {
		t.Fatal(err)
	}
	c := newClock(since, 50*time.Microsecond, a)
	go c.run()
	defer c.stop()
	w := c.newWaiter()
	for range 10 {
		c.wait(w, since()+100*time.Microsecond)
	}
	if n := testing.AllocsPerRun(200, func() {
		c.wait(w, since()+100*time.Microsecond)
		c.nextWake(w)
	}); n != 0 {
		t.Fatalf("a wait allocates %v times", n)
	}
}
