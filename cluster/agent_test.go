package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/internal/pki"
)

const testToken = "0123456789abcdef0123456789abcdef-test"

// syncBuffer collects the agent's lines; the test reads them meanwhile.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// lines returns the lines holding want.
func (b *syncBuffer) lines(want string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, want) {
			out = append(out, l)
		}
	}
	return out
}

// wait waits until n lines hold want.
func (b *syncBuffer) wait(t *testing.T, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(b.lines(want)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d lines with %q, want %d:\n%s", len(b.lines(want)), want, n, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testAgent is an Agent serving on a loopback listener until the test ends.
type testAgent struct {
	*Agent
	addr       string
	audit, log *syncBuffer
	stop       func() // stops Serve and waits for it
}

func startAgent(t *testing.T, a *Agent) *testAgent {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ta := &testAgent{Agent: a, addr: ln.Addr().String(), audit: &syncBuffer{}, log: &syncBuffer{}}
	a.Audit, a.Log = ta.audit, ta.log
	if a.Token == "" {
		a.Token = testToken
	}
	if a.Version == "" {
		a.Version = "test"
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- a.Serve(ctx, ln) }()
	ta.stop = sync.OnceFunc(func() {
		cancel()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("Serve did not return 15 s after its context ended")
		}
	})
	t.Cleanup(ta.stop)
	return ta
}

// coord is a hand-written coordinator: one connection to an agent.
type coord struct {
	t  *testing.T
	fc *frameConn
}

func dialAgent(t *testing.T, addr string) *coord {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &coord{t: t, fc: newFrameConn(c)}
}

func (c *coord) close() { c.fc.c.Close() }

// hello sends a hello and returns the welcome, or the refusal.
func (c *coord) hello(protocol int, token, run string) (welcome, error) {
	if err := c.fc.send(msgHello, hello{Protocol: protocol, Version: "coord-test", Token: token, Run: run}); err != nil {
		return welcome{}, err
	}
	var w welcome
	err := c.fc.expect(5*time.Second, msgWelcome, &w)
	return w, err
}

// open takes the agent to ready with p.
func (c *coord) open(run string, p *engine.Plan) error {
	c.t.Helper()
	if _, err := c.hello(Protocol, testToken, run); err != nil {
		return err
	}
	return c.plan(p)
}

func (c *coord) plan(p *engine.Plan) error {
	wp, err := encodePlan(p)
	if err != nil {
		return err
	}
	if err := c.fc.send(msgPlan, planMsg{Plan: wp}); err != nil {
		return err
	}
	return c.fc.expect(15*time.Second, msgReady, &struct{}{})
}

// wantRefused checks err is a refusal of code whose reason holds want,
// and that the agent then closed the connection.
func (c *coord) wantRefused(err error, code, want string) {
	c.t.Helper()
	var r *RefusedError
	if !errors.As(err, &r) || r.Code != code || !strings.Contains(r.Reason, want) {
		c.t.Fatalf("got %v, want a refusal (%s) saying %q", err, code, want)
	}
	c.wantClosed()
}

// wantClosed reads until the agent closes the connection; nothing may
// arrive meanwhile.
func (c *coord) wantClosed() {
	c.t.Helper()
	t, _, err := c.fc.recv(10 * time.Second)
	if err == nil {
		c.t.Fatalf("got %s, want the connection closed", t)
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		c.t.Fatalf("got %v, want the connection closed", err)
	}
}

// runLog is what a coordinator received during a run.
type runLog struct {
	intervals  []intervalMsg
	periods    []*engine.Period
	heartbeats int
	done       *doneMsg
	err        error // how reading ended, if not with done
}

func (r *runLog) requests() int64 {
	var n int64
	for _, p := range r.periods {
		for _, f := range p.Steps {
			for _, s := range f {
				n += s.Requests
			}
		}
	}
	return n
}

// collect reads the run's frames until done or an error; each interval
// must carry the next sequence number and decode against p. onInterval,
// if set, is called after each interval.
func (c *coord) collect(p *engine.Plan, onInterval func(n int)) *runLog {
	r := &runLog{}
	for {
		t, payload, err := c.fc.recv(PeerTimeout + time.Second)
		if err != nil {
			r.err = err
			return r
		}
		switch t {
		case msgHeartbeat:
			r.heartbeats++
		case msgInterval:
			var iv intervalMsg
			if err := decode(t, payload, &iv); err != nil {
				c.t.Fatal(err)
			}
			if iv.Seq != len(r.intervals)+1 {
				c.t.Fatalf("interval seq %d after %d intervals", iv.Seq, len(r.intervals))
			}
			per, err := decodePeriod(iv.Period, p)
			if err != nil {
				c.t.Fatalf("interval %d: %v", iv.Seq, err)
			}
			r.intervals = append(r.intervals, iv)
			r.periods = append(r.periods, per)
			if onInterval != nil {
				onInterval(len(r.intervals))
			}
		case msgDone:
			r.done = &doneMsg{}
			if err := decode(t, payload, r.done); err != nil {
				c.t.Fatal(err)
			}
			return r
		default:
			c.t.Fatalf("got %s during the run", t)
		}
	}
}

// waitFree waits until the agent holds no run.
func (ta *testAgent) waitFree(t *testing.T, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ta.mu.Lock()
		busy := ta.busy
		ta.mu.Unlock()
		if busy == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent still runs %q after %v", busy.run, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAgentRefusesVersion(t *testing.T) {
	a := startAgent(t, &Agent{Version: "1.2.3"})
	c := dialAgent(t, a.addr)
	_, err := c.hello(Protocol+1, testToken, "v2 run")
	c.wantRefused(err, RefuseVersion, fmt.Sprintf("agent speaks protocol v%d (loadgate 1.2.3), coordinator v%d (loadgate coord-test)", Protocol, Protocol+1))
	if got := a.audit.lines("refused (version)"); len(got) != 1 || !strings.Contains(got[0], `run="v2 run"`) {
		t.Fatalf("audit lines %q", got)
	}
}

func TestAgentRefusesToken(t *testing.T) {
	a := startAgent(t, &Agent{})
	for _, tc := range []struct{ token, reason string }{
		{"wrong-token-wrong-token-wrong-token", "wrong token"},
		{testToken + "x", "wrong token"},
		{"", "wrong token: the coordinator sent none"},
	} {
		c := dialAgent(t, a.addr)
		_, err := c.hello(Protocol, tc.token, "bad-token run")
		c.wantRefused(err, RefuseAuth, tc.reason)
	}
	audit := a.audit.String()
	if n := len(a.audit.lines("refused (auth): wrong token")); n != 3 {
		t.Fatalf("%d audit lines of refused auth, want 3:\n%s", n, audit)
	}
	if strings.Contains(audit, "wrong-token") || strings.Contains(audit, testToken) || strings.Contains(a.log.String(), testToken) {
		t.Fatalf("a token leaked into the audit or log:\n%s%s", audit, a.log.String())
	}
	for _, l := range a.audit.lines("audit:") {
		if !strings.HasPrefix(l, "loadgate agent: audit: ") || !strings.Contains(l, " peer=127.0.0.1:") {
			t.Fatalf("audit line %q: want the prefix, time and peer", l)
		}
		if _, err := time.Parse(time.RFC3339, strings.Fields(l)[3]); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
	}
}

// TestAgentBusy: while one coordinator holds the agent, another gets the
// busy refusal naming the run; once the first leaves, the agent is free.
func TestAgentBusy(t *testing.T) {
	a := startAgent(t, &Agent{})
	first := dialAgent(t, a.addr)
	if _, err := first.hello(Protocol, testToken, "nightly-42"); err != nil {
		t.Fatal(err)
	}
	second := dialAgent(t, a.addr)
	_, err := second.hello(Protocol, testToken, "other")
	second.wantRefused(err, RefuseBusy, `running run "nightly-42" for 127.0.0.1:`)
	var r *RefusedError
	errors.As(err, &r)
	if !strings.Contains(r.Reason, " since 20") {
		t.Fatalf("busy reason %q does not say since when", r.Reason)
	}
	// A wrong token is refused as such even while busy: busy comes last.
	third := dialAgent(t, a.addr)
	_, err = third.hello(Protocol, "nope", "other")
	third.wantRefused(err, RefuseAuth, "wrong token")
	first.close()
	a.waitFree(t, 5*time.Second)
	if _, err := dialAgent(t, a.addr).hello(Protocol, testToken, "next"); err != nil {
		t.Fatalf("after the first coordinator left: %v", err)
	}
}

func TestAgentPingPong(t *testing.T) {
	a := startAgent(t, &Agent{})
	c := dialAgent(t, a.addr)
	if _, err := c.hello(Protocol, testToken, "pings"); err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 3; i++ {
		if err := c.fc.send(msgPing, ping{T: i * 1000}); err != nil {
			t.Fatal(err)
		}
		var p ping
		if err := c.fc.expect(5*time.Second, msgPong, &p); err != nil || p.T != i*1000 {
			t.Fatalf("pong %v, %v; want T=%d", p, err, i*1000)
		}
	}
	// A frame out of place ends the session.
	if err := c.fc.send(msgInterval, intervalMsg{}); err != nil {
		t.Fatal(err)
	}
	c.wantClosed()
}

// TestAgentCaps: a plan beyond any cap is refused, naming the cap; one
// within them is accepted.
func TestAgentCaps(t *testing.T) {
	tg := newHitCounter(t, "127.0.0.1", nil)
	a := startAgent(t, &Agent{Caps: Caps{MaxRate: 50, MaxDuration: 2 * time.Second, MaxInFlight: 10, MaxBody: 100}})
	for _, tc := range []struct {
		name string
		edit func(p *engine.Plan)
		want string // in the reason; "" for accepted
	}{
		{"rate", func(p *engine.Plan) {
			p.Load.Stages = append(p.Load.Stages, engine.Stage{Duration: 500 * time.Millisecond, Target: 80})
		},
			"the peak rate for this agent, 80/s, exceeds its cap of 50/s (--max-rate)"},
		{"start rate", func(p *engine.Plan) { p.Load.StartRate = 60 }, "60/s, exceeds its cap"},
		// Never in scientific notation (%.4g wrote 2e+04/s; issue 15 item 10).
		{"a rate in the thousands", func(p *engine.Plan) { p.Load.StartRate = 20000 }, "the peak rate for this agent, 20000/s, exceeds"},
		{"a rate with decimals", func(p *engine.Plan) { p.Load.StartRate = 123456.789 }, "the peak rate for this agent, 123456.789/s, exceeds"},
		{"rate of this agent's segment is within the cap", func(p *engine.Plan) {
			p.Load.StartRate, p.Load.Stages[0].Target, p.Segment = 100, 100, engine.Segment{Index: 1, Count: 2}
		}, ""},
		{"rate of this agent's segment beyond the cap", func(p *engine.Plan) {
			p.Load.StartRate, p.Load.Stages[0].Target, p.Segment = 180, 180, engine.Segment{Index: 1, Count: 3}
		}, "60/s, exceeds its cap of 50/s"},
		{"closed model without max_rate", func(p *engine.Plan) { p.Load.Model, p.Load.StartRate, p.Load.Stages[0].Target = engine.Closed, 2, 2 },
			"a closed-model plan without max_rate"},
		{"closed model beyond max_rate", func(p *engine.Plan) {
			p.Load.Model, p.Load.StartRate, p.Load.Stages[0].Target, p.Load.MaxRate = engine.Closed, 2, 2, 51
		}, "51/s, exceeds its cap"},
		{"closed model, too many users", func(p *engine.Plan) {
			p.Load.Model, p.Load.StartRate, p.Load.Stages[0].Target, p.Load.MaxRate = engine.Closed, 2, 11, 20
		}, "11 users on this agent exceed its cap of 10 in flight (--max-in-flight)"},
		{"closed model, this agent's share of users and max_rate within the caps", func(p *engine.Plan) {
			p.Load.Model, p.Load.StartRate, p.Load.Stages[0].Target, p.Load.MaxRate = engine.Closed, 2, 20, 100
			p.Segment = engine.Segment{Index: 0, Count: 2}
		}, ""},
		{"duration", func(p *engine.Plan) { p.Load.Stages[0].Duration = 3 * time.Second }, "the load lasts 3s, beyond this agent's cap of 2s (--max-duration)"},
		{"in flight", func(p *engine.Plan) { p.Load.MaxInFlight = 11 }, "max_in_flight 11 exceeds this agent's cap of 10 (--max-in-flight)"},
		{"body", func(p *engine.Plan) { p.Flows[0].Steps[0].Method, p.Flows[0].Steps[0].Body = "POST", make([]byte, 101) },
			`flow "f" step "s": a body of 101 bytes exceeds this agent's cap of 100 (--max-body)`},
		{"within every cap", func(p *engine.Plan) { p.Flows[0].Steps[0].Method, p.Flows[0].Steps[0].Body = "POST", make([]byte, 100) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := smallPlan(tg.URL+"/", 20, time.Second)
			tc.edit(p)
			c := dialAgent(t, a.addr)
			err := c.open("caps "+tc.name, p)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				c.close()
				a.waitFree(t, 5*time.Second)
				return
			}
			c.wantRefused(err, RefuseCap, tc.want)
		})
	}
	if tg.hits.Load() != 0 {
		t.Fatalf("the target received %d requests", tg.hits.Load())
	}
	if got := a.audit.lines("refused (cap)"); len(got) != 11 {
		t.Fatalf("%d refused (cap) lines, want 11:\n%s", len(got), a.audit.String())
	}
}

// TestCapsApply: the caps lower what they lower, and nothing else.
func TestCapsApply(t *testing.T) {
	p := smallPlan("http://127.0.0.1:1/", 10, time.Second)
	p.Flows[0].Steps = append(p.Flows[0].Steps, engine.Step{Name: "kept", Method: "GET", URL: "http://127.0.0.1:1/", MaxBody: 50})
	if err := (Caps{MaxInFlight: 7, MaxBody: 100}).apply(p); err != nil {
		t.Fatal(err)
	}
	if p.Load.MaxInFlight != 7 || p.Flows[0].Steps[0].MaxBody != 100 || p.Flows[0].Steps[1].MaxBody != 50 {
		t.Fatalf("max_in_flight %d (want 7), max bodies %d and %d (want 100 and 50)",
			p.Load.MaxInFlight, p.Flows[0].Steps[0].MaxBody, p.Flows[0].Steps[1].MaxBody)
	}
	q := smallPlan("http://127.0.0.1:1/", 10, time.Second)
	if err := (Caps{}).apply(q); err != nil || q.Load.MaxInFlight != 0 || q.Flows[0].Steps[0].MaxBody != 0 {
		t.Fatalf("no caps changed the plan: %v %+v", err, q.Load)
	}
	q.Load.MaxInFlight = 5
	if err := (Caps{MaxInFlight: 7, MaxBody: 2 << 20}).apply(q); err != nil || q.Load.MaxInFlight != 5 || q.Flows[0].Steps[0].MaxBody != 0 {
		t.Fatalf("caps above the plan's values changed it: %v %+v %d", err, q.Load, q.Flows[0].Steps[0].MaxBody)
	}
}

// TestAgentRefusesTarget: a target off the allow-list is refused before
// anything reaches it, and so is an allowed target that does not answer
// or a plan that is not valid.
func TestAgentRefusesTarget(t *testing.T) {
	tg := newHitCounter(t, "127.0.0.3", nil)
	allow, err := ParseAllow([]string{"127.0.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, &Agent{Allow: allow})
	for _, tc := range []struct {
		name, code, want string
		plan             *engine.Plan
	}{
		{"not on the list", RefuseTarget, tg.hostport() + " is not on the agent's allow-list (--allow-target)", smallPlan(tg.URL+"/", 10, time.Second)},
		{"no name", RefuseTarget, `target nowhere.test: lookup nowhere.test`, smallPlan("http://nowhere.test/", 10, time.Second)},
		{"preflight", RefuseTarget, "preflight: http://127.0.0.2:1: refused", smallPlan("http://127.0.0.2:1/", 10, time.Second)},
		{"not a plan", RefusePlan, "plan has no stages", &engine.Plan{Flows: []engine.Flow{{Name: "f", Weight: 1}}}},
		{"not http", RefusePlan, `flow "f" step "s": want an absolute http or https URL`, smallPlan("ftp://127.0.0.2/x", 10, time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialAgent(t, a.addr)
			c.wantRefused(c.open(tc.name, tc.plan), tc.code, tc.want)
		})
	}
	if tg.hits.Load() != 0 || tg.conns.Load() != 0 {
		t.Fatalf("the target off the list saw %d requests and %d connections", tg.hits.Load(), tg.conns.Load())
	}
	if got := a.audit.lines("refused (target)"); len(got) != 3 || !strings.Contains(got[0], "is not on the agent's allow-list") {
		t.Fatalf("audit lines %q", got)
	}
}

// TestAgentRun: a good plan runs after the start delay; every interval
// arrives in order and decodes against the plan, the last flagged final,
// and done's totals equal the intervals' sum and what the target saw.
func TestAgentRun(t *testing.T) {
	tg := newHitCounter(t, "127.0.0.1", nil)
	a := startAgent(t, &Agent{Name: "agent-7", Caps: Caps{MaxRate: 100, MaxDuration: 10 * time.Second}})
	p := smallPlan(tg.URL+"/", 50, 2*time.Second)
	p.Interval = 250 * time.Millisecond
	c := dialAgent(t, a.addr)
	w, err := c.hello(Protocol, testToken, "smoke #1")
	if err != nil || w.Name != "agent-7" || w.Protocol != Protocol || w.Version != "test" {
		t.Fatalf("welcome %+v, %v", w, err)
	}
	if err := c.plan(p); err != nil {
		t.Fatal(err)
	}
	if tg.hits.Load() != 0 {
		t.Fatalf("%d requests before the start", tg.hits.Load())
	}
	sent := time.Now()
	if err := c.fc.send(msgStart, start{Delay: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	r := c.collect(p, nil)
	if r.done == nil {
		t.Fatalf("no done: %v", r.err)
	}
	n := len(r.intervals)
	if n < 8 {
		t.Fatalf("%d intervals of 250 ms for a 2 s run", n)
	}
	for i, iv := range r.intervals {
		if iv.Final != (i == n-1) {
			t.Fatalf("interval %d of %d: final=%v", i+1, n, iv.Final)
		}
	}
	if r.heartbeats == 0 {
		t.Fatal("no heartbeat during a 2 s run")
	}
	d := r.done
	if d.Requests != 100 || d.Requests != r.requests() || d.Requests != tg.hits.Load() || d.Intervals != n || d.Started != 100 {
		t.Fatalf("done %+v; intervals: %d requests in %d; target saw %d; want 100", d, r.requests(), n, tg.hits.Load())
	}
	if d.Stopped != "" || d.Exhausted != "" {
		t.Fatalf("done %+v", d)
	}
	if el := time.Since(sent); el < 2000*time.Millisecond {
		t.Fatalf("the run took %v after the start frame, want the delay and the 2 s profile (its last arrival at 1.98 s)", el)
	}
	c.wantClosed()
	accepted := a.audit.lines("accepted")
	ended := a.audit.lines("ended")
	if len(accepted) != 1 || !strings.Contains(accepted[0], `run="smoke #1" accepted: segment whole, peak rate 50/s, duration 2s`) {
		t.Fatalf("accepted lines %q", accepted)
	}
	if len(ended) != 1 || !strings.Contains(ended[0], "ended: 100 requests in ") || !strings.HasSuffix(ended[0], ", completed") {
		t.Fatalf("ended lines %q", ended)
	}
	a.waitFree(t, time.Second)
}

// TestAgentStop: a stop mid-run ends the load; the agent still sends its
// last intervals and done, which says why it stopped.
func TestAgentStop(t *testing.T) {
	tg := newHitCounter(t, "127.0.0.1", nil)
	a := startAgent(t, &Agent{})
	p := smallPlan(tg.URL+"/", 50, 3*time.Second)
	p.Interval = 250 * time.Millisecond
	c := dialAgent(t, a.addr)
	if err := c.open("stopped", p); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	c.fc.send(msgStart, start{Delay: 0})
	r := c.collect(p, func(n int) {
		if n == 2 {
			c.fc.send(msgStop, stopMsg{Reason: "threshold p(95) < 1ms failed"})
		}
	})
	if r.done == nil {
		t.Fatalf("no done: %v", r.err)
	}
	if el := time.Since(began); el > 2*time.Second {
		t.Fatalf("the stopped run took %v", el)
	}
	if r.done.Stopped != "stopped by the coordinator: threshold p(95) < 1ms failed" {
		t.Fatalf("done.Stopped = %q", r.done.Stopped)
	}
	if got := r.done.Requests; got != r.requests() || got != tg.hits.Load() || got >= 150 || got == 0 {
		t.Fatalf("done says %d requests, the intervals %d, the target %d; want equal, and fewer than 150", got, r.requests(), tg.hits.Load())
	}
	if !r.intervals[len(r.intervals)-1].Final || r.done.Intervals != len(r.intervals) {
		t.Fatalf("%d intervals, done says %d; last final: %v", len(r.intervals), r.done.Intervals, r.intervals[len(r.intervals)-1].Final)
	}
	if got := a.audit.lines("ended"); len(got) != 1 || !strings.Contains(got[0], "stopped by the coordinator: threshold") {
		t.Fatalf("ended lines %q", got)
	}
}

// TestAgentStopBeforeStart: a stop instead of the start, or during the
// start delay, ends the session with nothing sent, to the coordinator or to
// the target.
func TestAgentStopBeforeStart(t *testing.T) {
	tg := newHitCounter(t, "127.0.0.1", nil)
	a := startAgent(t, &Agent{})
	for _, tc := range []struct {
		name   string
		frames func(c *coord)
	}{
		{"instead of start", func(c *coord) { c.fc.send(msgStop, stopMsg{Reason: "agent 2 refused"}) }},
		{"during the delay", func(c *coord) {
			c.fc.send(msgStart, start{Delay: time.Second})
			time.Sleep(100 * time.Millisecond)
			c.fc.send(msgStop, stopMsg{Reason: "ctrl-c"})
		}},
		{"connection dropped during the delay", func(c *coord) {
			c.fc.send(msgStart, start{Delay: time.Second})
			time.Sleep(100 * time.Millisecond)
			c.close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialAgent(t, a.addr)
			if err := c.open(tc.name, smallPlan(tg.URL+"/", 20, time.Second)); err != nil {
				t.Fatal(err)
			}
			tc.frames(c)
			if tc.name != "connection dropped during the delay" {
				c.wantClosed()
			}
			a.waitFree(t, 2*time.Second)
		})
	}
	time.Sleep(1200 * time.Millisecond) // past the delays
	if tg.hits.Load() != 0 {
		t.Fatalf("the target received %d requests", tg.hits.Load())
	}
	if got := a.audit.lines("ended: 0 requests"); len(got) != 3 {
		t.Fatalf("ended lines:\n%s", a.audit.String())
	}
}

// TestAgentCoordinatorLost: when the coordinator's connection closes
// mid-run, the agent stops its load at once (the requirement is within
// 10 s) and is free for the next run.
func TestAgentCoordinatorLost(t *testing.T) {
	tg := newHitCounter(t, "127.0.0.1", nil)
	a := startAgent(t, &Agent{})
	p := smallPlan(tg.URL+"/", 100, 3*time.Second)
	c := dialAgent(t, a.addr)
	if err := c.open("lost", p); err != nil {
		t.Fatal(err)
	}
	c.fc.send(msgStart, start{})
	var closed time.Time
	c.collect(p, func(n int) {
		if n == 1 {
			closed = time.Now()
			c.close()
		}
	})
	waitQuiet(t, tg, 500*time.Millisecond)
	after := time.Unix(0, tg.last.Load()).Sub(closed)
	t.Logf("last request %v after the coordinator left; %d requests of 300", after, tg.hits.Load())
	if after > 10*time.Second || tg.hits.Load() >= 250 {
		t.Fatalf("the load went on %v after the coordinator left (%d requests of 300)", after, tg.hits.Load())
	}
	if after > time.Second {
		t.Errorf("the load went on %v after the coordinator left, want about none", after)
	}
	a.waitFree(t, 5*time.Second)
	if got := a.log.lines("the coordinator was lost: its connection closed: stopping the load"); len(got) != 1 {
		t.Fatalf("log:\n%s", a.log.String())
	}
	if got := a.audit.lines("ended"); len(got) != 1 || !strings.Contains(got[0], "the coordinator was lost") {
		t.Fatalf("ended lines %q", got)
	}
}

// TestAgentCoordinatorSilent: a coordinator that stops talking but keeps
// its connection open is lost after PeerTimeout. The profile is longer
// than that, at a low rate.
func TestAgentCoordinatorSilent(t *testing.T) {
	if testing.Short() {
		t.Skip("waits PeerTimeout")
	}
	tg := newHitCounter(t, "127.0.0.1", nil)
	a := startAgent(t, &Agent{})
	p := smallPlan(tg.URL+"/", 10, 20*time.Second)
	c := dialAgent(t, a.addr)
	if err := c.open("silent", p); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	c.fc.send(msgStart, start{})
	// Read (so the agent's writes do not block) but never write.
	r := c.collect(p, nil)
	if r.err == nil || r.done != nil {
		t.Fatalf("the agent sent done to a silent coordinator: %+v", r.done)
	}
	waitQuiet(t, tg, 500*time.Millisecond)
	stopped := time.Unix(0, tg.last.Load()).Sub(began)
	if stopped < PeerTimeout-time.Second || stopped > PeerTimeout+2*time.Second {
		t.Fatalf("the load stopped %v after the start, want about PeerTimeout (%v)", stopped, PeerTimeout)
	}
	if got := a.log.lines("no message for 5s: stopping the load"); len(got) != 1 {
		t.Fatalf("log:\n%s", a.log.String())
	}
}

// waitQuiet waits until tg has received nothing for quiet.
func waitQuiet(t *testing.T, tg *hitCounter, quiet time.Duration) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Since(time.Unix(0, tg.last.Load())) < quiet {
		if time.Now().After(deadline) {
			t.Fatal("the target never went quiet")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAgentShutdown: cancelling Serve mid-run drops the coordinator's
// connection, stops the load and returns.
func TestAgentShutdown(t *testing.T) {
	tg := newHitCounter(t, "127.0.0.1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	a := startAgent(t, &Agent{})
	p := smallPlan(tg.URL+"/", 50, 3*time.Second)
	c := dialAgent(t, a.addr)
	if err := c.open("shutdown", p); err != nil {
		t.Fatal(err)
	}
	c.fc.send(msgStart, start{})
	var stopped time.Time
	r := c.collect(p, func(n int) {
		if n == 1 {
			stopped = time.Now()
			go a.stop()
		}
	})
	if r.done != nil {
		t.Fatalf("done after a shutdown: %+v", r.done)
	}
	a.stop()
	if el := time.Since(stopped); el > 3*time.Second {
		t.Fatalf("Serve returned %v after its context ended", el)
	}
	if got := a.audit.lines("ended"); len(got) != 1 || !strings.HasSuffix(got[0], "the agent is shutting down") {
		t.Fatalf("ended lines %q", got)
	}
	if strings.Contains(a.log.String(), "lost") {
		t.Fatalf("a shutdown logged as a lost coordinator:\n%s", a.log.String())
	}
}

// testPKI is a CA with an agent certificate for 127.0.0.1 and a
// coordinator's client certificate.
type testPKI struct {
	roots       *x509.CertPool
	agent, coor tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	ca, err := pki.NewCA(1)
	if err != nil {
		t.Fatal(err)
	}
	pair := func(cn string, sans []string, server bool) tls.Certificate {
		certPEM, keyPEM, err := ca.Issue(cn, sans, server, true, 1)
		if err != nil {
			t.Fatal(err)
		}
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	p := &testPKI{roots: x509.NewCertPool()}
	p.roots.AddCert(ca.Cert)
	p.agent = pair("loadgate-agent", []string{"127.0.0.1"}, true)
	p.coor = pair("ops-coordinator", nil, false)
	return p
}

// TestAgentTLS: with TLS the agent requires a client certificate from its
// CA, and the audit line names the certificate's CN.
func TestAgentTLS(t *testing.T) {
	k := newTestPKI(t)
	a := startAgent(t, &Agent{TLS: &tls.Config{Certificates: []tls.Certificate{k.agent}, ClientCAs: k.roots}})
	dial := func(certs []tls.Certificate) (*coord, error) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", a.addr,
			&tls.Config{RootCAs: k.roots, Certificates: certs, ServerName: "127.0.0.1"})
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { c.Close() })
		return &coord{t: t, fc: newFrameConn(c)}, nil
	}
	c, err := dial([]tls.Certificate{k.coor})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.hello(Protocol, "not the token", "tls run")
	c.wantRefused(err, RefuseAuth, "wrong token")
	if got := a.audit.lines(`cn="ops-coordinator" run="tls run" refused (auth)`); len(got) != 1 {
		t.Fatalf("audit:\n%s", a.audit.String())
	}
	c, err = dial([]tls.Certificate{k.coor})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.hello(Protocol, testToken, "tls run"); err != nil {
		t.Fatal(err)
	}
	c.close()
	a.waitFree(t, 5*time.Second)

	// Without a client certificate: TLS 1.3 reports the server's verdict
	// on the first read.
	if c, err = dial(nil); err == nil {
		_, err = c.hello(Protocol, testToken, "anonymous")
	}
	if err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Fatalf("without a client certificate: %v", err)
	}
	// Plaintext to a TLS agent.
	pc := dialAgent(t, a.addr)
	if _, err := pc.hello(Protocol, testToken, "plain"); err == nil {
		t.Fatal("a plaintext hello was welcomed by a TLS agent")
	}
	if n := len(a.audit.lines("audit:")); n != 1 {
		t.Fatalf("%d audit lines, want 1 (the wrong token):\n%s", n, a.audit.String())
	}
	a.log.wait(t, "TLS handshake", 2) // the agent logs after the client saw the alert
}

// TestAgentProbeQuiet: a TCP probe (a Kubernetes readiness check connects
// and closes) leaves no line in the log, with TLS or without.
func TestAgentProbeQuiet(t *testing.T) {
	k := newTestPKI(t)
	for _, a := range []*testAgent{
		startAgent(t, &Agent{}),
		startAgent(t, &Agent{TLS: &tls.Config{Certificates: []tls.Certificate{k.agent}, ClientCAs: k.roots}}),
	} {
		for range 3 {
			c, err := net.Dial("tcp", a.addr)
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		}
		time.Sleep(100 * time.Millisecond) // the agent reads their EOF
		a.stop()
		if a.log.String() != "" || a.audit.String() != "" {
			t.Fatalf("log %q, audit %q", a.log.String(), a.audit.String())
		}
	}
}

// TestAgentSlowCoordinator: a snapshot that finds the writer's queue full
// cancels the run as a lost coordinator and closes the connection, and no
// later snapshot is queued (the sequence has a hole).
func TestAgentSlowCoordinator(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c2.Close()
	log := &syncBuffer{}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	l := &link{s: &session{a: &Agent{Log: log}, conn: c1, run: "slow"}, ctx: context.Background(), cancel: cancel, snaps: make(chan *engine.Snapshot, 1)}
	l.observe(&engine.Snapshot{Seq: 1})
	l.observe(&engine.Snapshot{Seq: 2})
	l.observe(&engine.Snapshot{Seq: 3})
	if !l.overflow.Load() || len(l.snaps) != 1 || context.Cause(ctx) != errTooSlow {
		t.Fatalf("overflow %v, %d queued, cause %v", l.overflow.Load(), len(l.snaps), context.Cause(ctx))
	}
	if _, err := c2.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("the connection is open: %v", err)
	}
	if !strings.Contains(log.String(), `run "slow": the coordinator was lost: it left 64 intervals unread: stopping the load`) {
		t.Fatalf("log %q", log.String())
	}
}

func TestTLSOptionsConfig(t *testing.T) {
	var none *TLSOptions
	if cfg, err := none.Config(); cfg != nil || err != nil {
		t.Fatalf("nil options: %v, %v", cfg, err)
	}
	ca, err := pki.NewCA(1)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := ca.Issue("client", nil, false, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := (&TLSOptions{CAPEM: ca.PEM(), CertPEM: certPEM, KeyPEM: keyPEM, ServerName: "api.example", MinVersion: tls.VersionTLS13}).Config()
	if err != nil || cfg.RootCAs == nil || len(cfg.Certificates) != 1 || cfg.ServerName != "api.example" || cfg.MinVersion != tls.VersionTLS13 || cfg.InsecureSkipVerify {
		t.Fatalf("config %+v, %v", cfg, err)
	}
	for _, tc := range []struct {
		o    TLSOptions
		want string
	}{
		{TLSOptions{CAPEM: []byte("not PEM")}, "ca_file holds no PEM certificate"},
		{TLSOptions{CertPEM: certPEM}, "tls: client certificate:"},
		{TLSOptions{MinVersion: 0x0200}, "unknown min_version 0x0200"},
	} {
		if _, err := tc.o.Config(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		}
	}
}

// TestErrorTextsCutAtARune: an error message cut for the wire is cut
// between runes, so that after JSON it still passes the coordinator's
// length check (a cut rune would become U+FFFD, three bytes per byte).
func TestErrorTextsCutAtARune(t *testing.T) {
	for pad := 195; pad <= 200; pad++ {
		var s [engine.NumKinds]string
		s[engine.KindOther] = strings.Repeat("a", pad) + "€€€€"
		b, err := json.Marshal(intervalMsg{Errors: errorTexts(&s)})
		if err != nil {
			t.Fatal(err)
		}
		var iv intervalMsg
		if err := json.Unmarshal(b, &iv); err != nil {
			t.Fatal(err)
		}
		if err := checkErrors(iv.Errors); err != nil || !utf8.ValidString(iv.Errors[engine.KindOther]) || strings.Contains(iv.Errors[engine.KindOther], "\uFFFD") {
			t.Fatalf("%d bytes then euros: %q: %v", pad, iv.Errors[engine.KindOther], err)
		}
	}
}
