package cluster

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/histogram"
)

// testPlan is a small open-model plan of two flows; fake agents never run
// it, they send intervals shaped like it.
func testPlan() *engine.Plan {
	return &engine.Plan{
		Name: "t",
		Load: engine.Load{StartRate: 10, Stages: []engine.Stage{{Duration: 3 * time.Second, Target: 10}}},
		Flows: []engine.Flow{
			{Name: "a", Weight: 1, Steps: []engine.Step{{Name: "a1", Method: "GET", URL: "http://127.0.0.1:1/a"}}},
			{Name: "b", Weight: 1, Steps: []engine.Step{
				{Name: "b1", Method: "GET", URL: "http://127.0.0.1:1/b"},
				{Name: "b2", Method: "GET", URL: "http://127.0.0.1:1/c"},
			}},
		},
	}
}

// fakeAgent accepts one coordinator, takes it through the handshake like a
// real agent, and then lets script send whatever it wants.
type fakeAgent struct {
	ln     net.Listener
	refuse *refuse // refuse the hello with this
	script func(fc *frameConn, p *engine.Plan)
	plan   chan *engine.Plan
	wg     sync.WaitGroup
}

func startFake(t *testing.T, script func(fc *frameConn, p *engine.Plan)) *fakeAgent {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAgent{ln: ln, script: script, plan: make(chan *engine.Plan, 1)}
	f.wg.Go(f.serve)
	t.Cleanup(func() { ln.Close(); f.wg.Wait() })
	return f
}

func (f *fakeAgent) addr() string { return f.ln.Addr().String() }

func (f *fakeAgent) serve() {
	c, err := f.ln.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	fc := newFrameConn(c)
	var h hello
	if fc.expect(time.Second, msgHello, &h) != nil {
		return
	}
	if f.refuse != nil {
		fc.send(msgRefuse, *f.refuse)
		return
	}
	fc.send(msgWelcome, welcome{Protocol: Protocol, Version: "test", Name: "fake"})
	var pm planMsg
	for {
		t, payload, err := fc.recv(2 * time.Second)
		if err != nil {
			return
		}
		if t == msgPing {
			var p ping
			decode(t, payload, &p)
			fc.send(msgPong, p)
			continue
		}
		if t != msgPlan || decode(t, payload, &pm) != nil {
			return
		}
		break
	}
	p, err := pm.Plan.plan()
	if err != nil {
		return
	}
	f.plan <- p
	fc.send(msgReady, struct{}{})
	var st start
	if fc.expect(2*time.Second, msgStart, &st) != nil {
		return
	}
	time.Sleep(st.Delay)
	f.script(fc, p)
}

// period builds an interval of p in which every step saw n requests of
// latency d.
func period(p *engine.Plan, seq int, n int64, d time.Duration) *engine.Period {
	per := &engine.Period{Start: time.Duration(seq-1) * time.Second, End: time.Duration(seq) * time.Second}
	h := histogram.New()
	h.RecordN(d, n)
	for _, f := range p.Flows {
		steps := make([]engine.StepStats, len(f.Steps))
		for i := range steps {
			steps[i] = engine.StepStats{Duration: h.Clone().Freeze(), ServiceTime: h.Clone().Freeze(), Requests: n}
			steps[i].Status[2] = n
		}
		per.Steps = append(per.Steps, steps)
		per.Flows = append(per.Flows, engine.FlowStats{Iterations: n})
	}
	per.Planned, per.Started = n, n
	return per
}

func sendInterval(fc *frameConn, seq int, final bool, per *engine.Period) error {
	w, err := encodePeriod(per)
	if err != nil {
		return err
	}
	return fc.send(msgInterval, intervalMsg{Seq: seq, Final: final, Period: w, PlannedTotal: 30})
}

// steady sends n intervals of k requests per step, at latency d, then done.
func steady(n int, k int64, d time.Duration) func(fc *frameConn, p *engine.Plan) {
	return func(fc *frameConn, p *engine.Plan) {
		var total int64
		for seq := 1; seq <= n; seq++ {
			per := period(p, seq, k, d)
			total += requests(per)
			if sendInterval(fc, seq, seq == n, per) != nil {
				return
			}
		}
		fc.send(msgDone, doneMsg{Requests: total, Intervals: n})
		fc.recv(time.Second) // wait for the coordinator to close
	}
}

type collect struct {
	mu    sync.Mutex
	snaps []*engine.Snapshot
}

func (c *collect) Observe(s *engine.Snapshot) {
	c.mu.Lock()
	c.snaps = append(c.snaps, s)
	c.mu.Unlock()
}

func coordinator(agents ...*fakeAgent) *Coordinator {
	c := &Coordinator{Version: "test", Token: strings.Repeat("t", 32), IntervalDeadline: 500 * time.Millisecond}
	for _, a := range agents {
		c.Agents = append(c.Agents, a.addr())
	}
	return c
}

func TestCoordinatorMergesExactly(t *testing.T) {
	a := startFake(t, steady(3, 5, 10*time.Millisecond))
	b := startFake(t, steady(3, 7, 30*time.Millisecond))
	c := startFake(t, steady(2, 11, 50*time.Millisecond)) // ends an interval early
	co := coordinator(a, b, c)
	var obs collect
	res, err := co.Run(context.Background(), testPlan(), &obs)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range []*fakeAgent{a, b, c} {
		if seg := (<-f.plan).Segment; seg != (engine.Segment{Index: i, Count: 3}) {
			t.Errorf("agent %d got segment %v", i, seg)
		}
	}
	if len(obs.snaps) != 3 {
		t.Fatalf("%d snapshots, want 3", len(obs.snaps))
	}
	for i, s := range obs.snaps {
		if s.Seq != i+1 || s.Final != (i == 2) {
			t.Errorf("snapshot %d: seq %d final %v", i, s.Seq, s.Final)
		}
	}
	// Each of the 3 steps: 3×5 + 3×7 + 2×11 = 58 requests.
	all := res.Final.Total.All
	if all.Requests != 3*58 || res.Final.PlannedTotal != 90 {
		t.Fatalf("total requests %d planned %d, want %d and 90", all.Requests, res.Final.PlannedTotal, 3*58)
	}
	want := histogram.New()
	want.RecordN(10*time.Millisecond, 3*3*5)
	want.RecordN(30*time.Millisecond, 3*3*7)
	want.RecordN(50*time.Millisecond, 3*2*11)
	if !all.Duration.Equal(want) {
		t.Errorf("merged histogram differs from the union: p50 %v p99 %v", all.Duration.Quantile(.5), all.Duration.Quantile(.99))
	}
	if iv := obs.snaps[2].Interval.All.Requests; iv != 3*(5+7) {
		t.Errorf("interval 3 has %d requests, want %d", iv, 3*12)
	}
	for _, s := range co.Status() {
		if s.Lost {
			t.Errorf("agent %s lost: %s", s.Addr, s.Reason)
		}
	}
}

func TestCoordinatorRefusal(t *testing.T) {
	ok := startFake(t, steady(1, 1, time.Millisecond))
	bad := startFake(t, nil)
	bad.refuse = &refuse{Code: RefuseAuth, Reason: "wrong token"}
	_, err := coordinator(ok, bad).Run(context.Background(), testPlan())
	var pe *PreflightError
	if !errors.As(err, &pe) || len(pe.Agents) != 1 || pe.Agents[0].Addr != bad.addr() {
		t.Fatalf("err = %v, want a PreflightError naming %s", err, bad.addr())
	}
	if !strings.Contains(err.Error(), "refused (auth): wrong token") {
		t.Errorf("err = %v", err)
	}
}

func TestCoordinatorPlaintextOnlyOnLoopback(t *testing.T) {
	co := &Coordinator{Agents: []string{"192.0.2.1:7070"}, Token: strings.Repeat("t", 32)}
	_, err := co.Run(context.Background(), testPlan())
	if err == nil || !strings.Contains(err.Error(), "not on loopback") {
		t.Fatalf("err = %v", err)
	}
}

// rogue is an agent that sends one good interval and then script's frame;
// the coordinator must reject the second, keep the first, and report the
// agent lost.
func TestCoordinatorRejectsRogueMessages(t *testing.T) {
	cases := []struct {
		name string
		bad  func(fc *frameConn, p *engine.Plan)
		want string
	}{
		{"replayed seq", func(fc *frameConn, p *engine.Plan) {
			sendInterval(fc, 1, false, period(p, 1, 2, time.Millisecond))
		}, "replayed sequence number 1 (expected 2)"},
		{"skipped seq", func(fc *frameConn, p *engine.Plan) {
			sendInterval(fc, 5, false, period(p, 5, 2, time.Millisecond))
		}, "sequence number 5 skips ahead"},
		{"oversized frame", func(fc *frameConn, p *engine.Plan) {
			fc.c.Write([]byte{0x7f, 0xff, 0xff, 0xff, byte(msgInterval)})
		}, "exceeds the"},
		{"wrong geometry", func(fc *frameConn, p *engine.Plan) {
			w, _ := encodePeriod(period(p, 2, 2, time.Millisecond))
			w.Steps[0][0].Duration = otherGeometry(t)
			fc.send(msgInterval, intervalMsg{Seq: 2, Period: w})
		}, "foreign geometry"},
		{"wrong shape", func(fc *frameConn, p *engine.Plan) {
			w, _ := encodePeriod(period(p, 2, 2, time.Millisecond))
			w.Steps = w.Steps[:1]
			w.Flows = w.Flows[:1]
			fc.send(msgInterval, intervalMsg{Seq: 2, Period: w})
		}, "period has 1 flows"},
		{"negative count", func(fc *frameConn, p *engine.Plan) {
			w, _ := encodePeriod(period(p, 2, 2, time.Millisecond))
			w.Steps[1][1].Requests = -5
			fc.send(msgInterval, intervalMsg{Seq: 2, Period: w})
		}, "negative count"},
		{"interval outside the run", func(fc *frameConn, p *engine.Plan) {
			w, _ := encodePeriod(period(p, 2, 2, time.Millisecond))
			w.End = 1000 * time.Hour
			fc.send(msgInterval, intervalMsg{Seq: 2, Period: w})
		}, "outside the run"},
		{"huge count", func(fc *frameConn, p *engine.Plan) {
			w, _ := encodePeriod(period(p, 2, 2, time.Millisecond))
			w.Steps[0][0].Requests, w.Steps[0][0].Status[2] = 1<<62, 1<<62
			fc.send(msgInterval, intervalMsg{Seq: 2, Period: w})
		}, "beyond any run"},
		{"unknown type", func(fc *frameConn, p *engine.Plan) {
			fc.c.Write(appendFrame(nil, 200, []byte("{}")))
		}, "unknown message type 200"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			good := startFake(t, steady(2, 3, time.Millisecond))
			rogue := startFake(t, func(fc *frameConn, p *engine.Plan) {
				sendInterval(fc, 1, false, period(p, 1, 4, time.Millisecond))
				tc.bad(fc, p)
				fc.recv(2 * time.Second)
			})
			co := coordinator(good, rogue)
			res, err := co.Run(context.Background(), testPlan())
			if err != nil {
				t.Fatal(err)
			}
			lost := co.Lost()
			if len(lost) != 1 || lost[0].Addr != rogue.addr() || !strings.Contains(lost[0].Reason, tc.want) {
				t.Fatalf("lost = %+v, want the rogue rejected with %q", lost, tc.want)
			}
			if !strings.HasPrefix(lost[0].Reason, "rejected: protocol violation") {
				t.Errorf("reason %q", lost[0].Reason)
			}
			// The good agent's 2×3 per step and the rogue's first 4 per step.
			if got := res.Final.Total.All.Requests; got != 3*(6+4) {
				t.Errorf("total requests %d, want %d", got, 3*10)
			}
		})
	}
}

// otherGeometry encodes a histogram of another precision, which Decode
// must refuse rather than merge inexactly.
func otherGeometry(t *testing.T) string {
	t.Helper()
	h := hdr.New(1, 3_600_000_000, 2)
	h.RecordValue(1000)
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCoordinatorLateAgent(t *testing.T) {
	fast := startFake(t, steady(3, 2, time.Millisecond))
	slow := startFake(t, func(fc *frameConn, p *engine.Plan) {
		sendInterval(fc, 1, false, period(p, 1, 1, time.Millisecond))
		time.Sleep(1200 * time.Millisecond) // past the 500 ms deadline
		sendInterval(fc, 2, false, period(p, 2, 1, time.Millisecond))
		sendInterval(fc, 3, true, period(p, 3, 1, time.Millisecond))
		fc.send(msgDone, doneMsg{Requests: 9, Intervals: 3})
		fc.recv(time.Second)
	})
	co := coordinator(fast, slow)
	var obs collect
	res, err := co.Run(context.Background(), testPlan(), &obs)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Final.Total.All.Requests; got != 3*(6+3) {
		t.Fatalf("total %d, want %d: late data must still count", got, 27)
	}
	var sum int64
	for _, s := range obs.snaps {
		sum += s.Interval.All.Requests
	}
	if sum != 27 || len(co.Lost()) != 0 {
		t.Errorf("intervals sum to %d; lost %v", sum, co.Lost())
	}
	if st := co.Status(); st[0].Late != 0 || st[1].Late == 0 {
		t.Errorf("late counts %d and %d, want 0 and more", st[0].Late, st[1].Late)
	}
}

func TestCoordinatorStopsAgentsOnCancel(t *testing.T) {
	stopped := make(chan string, 1)
	a := startFake(t, func(fc *frameConn, p *engine.Plan) {
		sendInterval(fc, 1, false, period(p, 1, 1, time.Millisecond))
		var s stopMsg
		for {
			tp, payload, err := fc.recv(5 * time.Second)
			if err != nil {
				return
			}
			if tp == msgStop {
				decode(tp, payload, &s)
				break
			}
		}
		stopped <- s.Reason
		sendInterval(fc, 2, true, period(p, 2, 1, time.Millisecond))
		fc.send(msgDone, doneMsg{Requests: 6, Intervals: 2})
		fc.recv(time.Second)
	})
	ctx, cancel := context.WithCancelCause(context.Background())
	obs := engine.ObserverFunc(func(s *engine.Snapshot) {
		if s.Seq == 1 {
			cancel(errors.New("threshold aborted"))
		}
	})
	res, err := coordinator(a).Run(ctx, testPlan(), obs)
	if err != nil {
		t.Fatal(err)
	}
	if r := <-stopped; r != "threshold aborted" {
		t.Errorf("stop reason %q", r)
	}
	if res.Stopped == nil || res.Final.Total.All.Requests != 6 || !res.Final.Final {
		t.Errorf("stopped %v, requests %d", res.Stopped, res.Final.Total.All.Requests)
	}
}

func TestCoordinatorAgentLost(t *testing.T) {
	good := startFake(t, steady(3, 1, time.Millisecond))
	dies := startFake(t, func(fc *frameConn, p *engine.Plan) {
		sendInterval(fc, 1, false, period(p, 1, 2, time.Millisecond))
		fc.c.Close() // SIGKILL, as the coordinator sees it
	})
	co := coordinator(good, dies)
	res, err := co.Run(context.Background(), testPlan())
	if err != nil {
		t.Fatal(err)
	}
	lost := co.Lost()
	if len(lost) != 1 || lost[0].Reason == "" || strings.HasPrefix(lost[0].Reason, "rejected") || lost[0].Intervals != 1 || lost[0].Requests != 6 {
		t.Fatalf("lost = %+v", lost)
	}
	if got := res.Final.Total.All.Requests; got != 3*3+6 {
		t.Errorf("total %d, want 15", got)
	}
}

// TestCoordinatorAgentStoppedOnItsOwn: an agent whose run ends early
// without being told (its own safety limit, a signal) is counted lost, not
// complete.
func TestCoordinatorAgentStoppedOnItsOwn(t *testing.T) {
	a := startFake(t, func(fc *frameConn, p *engine.Plan) {
		sendInterval(fc, 1, true, period(p, 1, 1, time.Millisecond))
		fc.send(msgDone, doneMsg{Requests: 3, Intervals: 1, Stopped: "agent shutting down"})
		fc.recv(time.Second)
	})
	co := coordinator(a)
	if _, err := co.Run(context.Background(), testPlan()); err != nil {
		t.Fatal(err)
	}
	lost := co.Lost()
	if len(lost) != 1 || !strings.Contains(lost[0].Reason, "stopped on its own: agent shutting down") {
		t.Fatalf("lost = %+v", lost)
	}
}

// TestCoordinatorStuckAgent: an agent whose connection lives (heartbeats)
// but which sends no interval is lost within a few intervals; it cannot
// keep the run, and a CI job, waiting forever.
func TestCoordinatorStuckAgent(t *testing.T) {
	good := startFake(t, steady(3, 1, time.Millisecond))
	stuck := startFake(t, func(fc *frameConn, p *engine.Plan) {
		for range 30 {
			if fc.send(msgHeartbeat, struct{}{}) != nil {
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
	co := coordinator(good, stuck)
	began := time.Now()
	if _, err := co.Run(context.Background(), testPlan()); err != nil {
		t.Fatal(err)
	}
	lost := co.Lost()
	if len(lost) != 1 || lost[0].Addr != stuck.addr() || !strings.Contains(lost[0].Reason, "no interval for") {
		t.Fatalf("lost = %+v", lost)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Fatalf("Run took %v", d)
	}
}

// TestCoordinatorNoGoroutinesAfterRun: Run returns only after every
// goroutine it started (readers, heartbeats, stop sends) has exited.
func TestCoordinatorNoGoroutinesAfterRun(t *testing.T) {
	a := startFake(t, steady(2, 1, time.Millisecond))
	ctx, cancel := context.WithCancelCause(context.Background())
	obs := engine.ObserverFunc(func(s *engine.Snapshot) { cancel(errors.New("stop")) })
	if _, err := coordinator(a).Run(ctx, testPlan(), obs); err != nil {
		t.Fatal(err)
	}
	// The fake agent's own goroutines call frameConn.send too, and may
	// still be ending (its peer just closed): only the coordinator's count.
	for _, g := range goroutineStacks() {
		if strings.Contains(g, "(*fakeAgent)") {
			continue
		}
		for _, f := range []string{"cluster.read(", "cluster.(*merger).", "cluster.(*frameConn).send", "cluster.(*Coordinator)."} {
			if strings.Contains(g, f) {
				t.Errorf("a goroutine of the coordinator is still running after Run returned:\n%s", g)
				break
			}
		}
	}
}

// goroutineStacks returns the stack of every goroutine but the caller's.
func goroutineStacks() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	gs := strings.Split(string(buf), "\n\n")
	return gs[1:] // the first is this goroutine's
}

// TestCoordinatorDataExhausted: when one agent's data runs out, the others
// are stopped too (as a single host stops), and the run is complete, not
// interrupted.
func TestCoordinatorDataExhausted(t *testing.T) {
	out := startFake(t, func(fc *frameConn, p *engine.Plan) {
		sendInterval(fc, 1, true, period(p, 1, 1, time.Millisecond))
		fc.send(msgDone, doneMsg{Requests: 3, Intervals: 1, Exhausted: "data exhausted: every one of the 4 rows of unique data \"users\" was used"})
		fc.recv(time.Second)
	})
	stopped := make(chan string, 1)
	rest := startFake(t, func(fc *frameConn, p *engine.Plan) {
		sendInterval(fc, 1, false, period(p, 1, 1, time.Millisecond))
		for {
			tp, payload, err := fc.recv(5 * time.Second)
			if err != nil {
				return
			}
			if tp == msgStop {
				var s stopMsg
				decode(tp, payload, &s)
				stopped <- s.Reason
				break
			}
		}
		sendInterval(fc, 2, true, period(p, 2, 1, time.Millisecond))
		fc.send(msgDone, doneMsg{Requests: 6, Intervals: 2, Stopped: "stopped by the coordinator"})
		fc.recv(time.Second)
	})
	co := coordinator(out, rest)
	res, err := co.Run(context.Background(), testPlan())
	if err != nil {
		t.Fatal(err)
	}
	if r := <-stopped; !strings.Contains(r, "data ran out") {
		t.Errorf("stop reason %q", r)
	}
	if res.Exhausted == nil || res.Stopped != nil || len(co.Lost()) != 0 {
		t.Errorf("exhausted %v, stopped %v, lost %v", res.Exhausted, res.Stopped, co.Lost())
	}
}

// TestAgentPlanShares: the agents' plans split max_in_flight and unique
// rows so that together they are the single-host plan.
func TestAgentPlanShares(t *testing.T) {
	p := testPlan()
	p.Load.MaxInFlight = 10
	p.Data = []engine.Feeder{{Name: "u", Order: engine.Unique, Columns: []string{"c"}, Rows: [][]string{{"0"}, {"1"}, {"2"}, {"3"}, {"4"}}}}
	inFlight, rows := 0, map[string]int{}
	for i := range 3 {
		q := agentPlan(p, i, 3)
		inFlight += q.Load.MaxInFlight
		for _, r := range q.Data[0].Rows {
			rows[r[0]]++
		}
	}
	if inFlight != 10 || len(rows) != 5 {
		t.Fatalf("max_in_flight shares add to %d, rows %v", inFlight, rows)
	}
	for r, n := range rows {
		if n != 1 {
			t.Errorf("row %s given to %d agents", r, n)
		}
	}
	if p.Load.MaxInFlight != 10 || len(p.Data[0].Rows) != 5 {
		t.Error("agentPlan changed the caller's plan")
	}
}

// TestStatusTrendsOneClass: when every request of a step has one status
// class, the wire carries its duration histogram once, and the coordinator
// restores the per-class one; with two classes both travel.
func TestStatusTrendsOneClass(t *testing.T) {
	p := testPlan()
	p.StatusTrends = true
	per := period(p, 1, 5, 20*time.Millisecond)
	for fi := range per.Steps {
		for si := range per.Steps[fi] {
			per.Steps[fi][si].ByClass[2] = per.Steps[fi][si].Duration
		}
	}
	other := histogram.New()
	other.Record(time.Second)
	per.Steps[1][1].ByClass[5], per.Steps[1][1].Status[5] = other.Freeze(), 1
	w, err := encodePeriod(per)
	if err != nil {
		t.Fatal(err)
	}
	if w.Steps[0][0].ByClass != nil || w.Steps[1][1].ByClass == nil {
		t.Fatalf("by_class sent for one class (%v) or left out for two (%v)", w.Steps[0][0].ByClass != nil, w.Steps[1][1].ByClass == nil)
	}
	got, err := decodePeriod(w, p)
	if err != nil {
		t.Fatal(err)
	}
	for fi := range per.Steps {
		for si := range per.Steps[fi] {
			for c := range engine.NumStatusClasses {
				want, h := per.Steps[fi][si].ByClass[c], got.Steps[fi][si].ByClass[c]
				if (want == nil) != (h == nil) || (want != nil && !h.Equal(want)) {
					t.Errorf("step %d/%d class %d differs after the round trip", fi, si, c)
				}
			}
		}
	}
}

// TestPeriodCarriesSlotAccounting: what tells the target's backlog from
// the generator's lag travels from agent to coordinator: slot_wait, the
// arrivals that found no free slot (as no_free_slot failures), and the
// requests cut off at the end of the grace period.
func TestPeriodCarriesSlotAccounting(t *testing.T) {
	p := testPlan()
	per := period(p, 1, 10, time.Millisecond)
	sw := histogram.New()
	sw.RecordN(800*time.Millisecond, 7)
	per.SlotWait = sw.Freeze()
	per.Planned, per.Dropped, per.Cancelled = 15, 5, 2
	per.Steps[0][0].Errors[engine.KindNoFreeSlot] = 5
	w, err := encodePeriod(per)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodePeriod(w, p)
	if err != nil {
		t.Fatal(err)
	}
	if got.SlotWait == nil || got.SlotWait.Count() != 7 || got.SlotWait.Max() < 790*time.Millisecond {
		t.Fatalf("slot wait %v", got.SlotWait)
	}
	if got.Dropped != 5 || got.Cancelled != 2 || got.Steps[0][0].Errors[engine.KindNoFreeSlot] != 5 {
		t.Fatalf("dropped %d cancelled %d no_free_slot %d, want 5 2 5", got.Dropped, got.Cancelled, got.Steps[0][0].Errors[engine.KindNoFreeSlot])
	}
	w.Cancelled = -1
	if _, err := decodePeriod(w, p); err == nil {
		t.Fatal("a negative cancelled count was accepted")
	}
}
