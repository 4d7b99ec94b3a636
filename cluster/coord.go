package cluster

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/loadgate/loadgate/internal/loopback"

	"github.com/loadgate/loadgate/engine"
)

// Defaults of the coordinator's timing.
const (
	// DefaultDialTimeout bounds dialing an agent and each handshake step.
	DefaultDialTimeout = 5 * time.Second
	// DefaultIntervalDeadline is how long an interval waits for late agents
	// after the first agent delivered it; then it is published without
	// them and their late data is added to the next interval.
	DefaultIntervalDeadline = 3 * time.Second
	// startLead is the start delay beyond the slowest round trip: time for
	// every start frame to arrive before the common start.
	startLead = 300 * time.Millisecond
	// rttPings is how many pings measure each agent's round trip.
	rttPings = 3
)

// Coordinator runs a plan on remote agents: it dials each one, ships the
// plan with the agent's segment, starts them together, merges their
// intervals once every live agent delivered them, and publishes the merged
// snapshots to observers exactly as engine.Engine.Run does for a local run.
type Coordinator struct {
	Agents []string // host:port of each agent; agent k runs segment k/len(Agents)
	Token  string
	// TLS is the client configuration for mutual TLS (the coordinator's
	// certificate and the CA of the agents' certificates). Nil speaks
	// plaintext, which Run allows only to loopback agents.
	TLS *tls.Config
	// Target is the scenario's TLS section, for the agents' HTTP clients.
	Target  *TLSOptions
	Version string
	// Log receives one line per agent lost or late; nil discards them.
	Log io.Writer
	// DialTimeout and IntervalDeadline default to DefaultDialTimeout and
	// DefaultIntervalDeadline.
	DialTimeout      time.Duration
	IntervalDeadline time.Duration
	// OnStart, if set, is called with the agents' common start time before
	// any load is sent: the offsets of the published periods count from it.
	OnStart func(time.Time)

	mu     sync.Mutex
	status []AgentStatus
}

// AgentStatus is what the coordinator saw of one agent, for reports.
type AgentStatus struct {
	Addr      string
	Name      string
	Segment   engine.Segment
	Lost      bool
	Reason    string        // why it was lost ("rejected: ..." for a protocol violation)
	LostAt    time.Duration // offset from the start of the load
	Intervals int           // intervals merged from it
	Late      int           // intervals published without it (it was late)
	Requests  int64
	Planned   int64 // arrivals of its share of the schedule
	Started   int64 // iterations it started
}

// AgentError is why one agent could not take part in a run.
type AgentError struct {
	Addr string
	Err  error
}

// PreflightError lists the agents that could not be reached or refused the
// run; nothing was sent to any target.
type PreflightError struct {
	Agents []AgentError
}

func (e *PreflightError) Error() string {
	parts := make([]string, len(e.Agents))
	for i, a := range e.Agents {
		parts[i] = fmt.Sprintf("agent %s: %v", a.Addr, a.Err)
	}
	return strings.Join(parts, "; ")
}

// Status returns what the coordinator saw of every agent during the last
// Run, in the order of Agents.
func (c *Coordinator) Status() []AgentStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]AgentStatus(nil), c.status...)
}

func (c *Coordinator) setStatus(s []AgentStatus) {
	c.mu.Lock()
	c.status = s
	c.mu.Unlock()
}

// Lost returns the agents lost during the last Run.
func (c *Coordinator) Lost() []AgentStatus {
	var out []AgentStatus
	for _, s := range c.Status() {
		if s.Lost {
			out = append(out, s)
		}
	}
	return out
}

// remote is the coordinator's side of one agent.
type remote struct {
	addr string
	name string
	seg  engine.Segment
	fc   *frameConn
	rtt  time.Duration
	// Owned by Run's loop once the load started.
	done         bool // its done frame arrived
	finalSeq     int  // seq of its final interval; 0 before
	lost         bool
	reason       string
	lostAt       time.Duration
	intervals    int
	late         int // intervals published without it
	requests     int64
	started      int64
	inFlight     int64
	waiting      int64 // arrivals waiting for a free slot at its last interval
	plannedTotal int64
	exhausted    string
	lastInterval time.Time // when its last interval arrived (the start before)
}

// running reports whether the agent is still expected to send something.
func (a *remote) running() bool { return !a.lost && !a.done }

// event is what an agent's reader hands to Run's loop.
type event struct {
	a    *remote
	iv   *intervalMsg
	per  *engine.Period
	done *doneMsg
	err  error
}

// Run runs p on the agents and returns when every agent finished or was
// lost. Observers see merged snapshots in order from one goroutine, the
// last with Final set. When ctx is cancelled every agent is told to stop
// and Run waits for their final intervals (up to the plan's grace and the
// interval deadline). A run that cannot start on every agent returns a
// *PreflightError and nothing is sent to any target.
func (c *Coordinator) Run(ctx context.Context, p *engine.Plan, obs ...engine.Observer) (*engine.Result, error) {
	if len(c.Agents) == 0 {
		return nil, errors.New("dist: no agents")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if c.TLS == nil {
		for _, a := range c.Agents {
			if !loopback.Addr(a) {
				return nil, fmt.Errorf("agent %s is not on loopback: plaintext is allowed only when both ends are on loopback; give --tls-ca, --tls-cert and --tls-key", a)
			}
		}
	}
	runID := p.Name + " " + randomID()
	agents, err := c.connect(ctx, p, runID)
	if err != nil {
		return nil, err
	}
	m := newMerger(c, p, agents, obs)
	c.setStatus(m.status())
	if ctx.Err() != nil { // interrupted during the handshakes: nothing was sent
		for _, a := range agents {
			a.fc.send(msgStop, stopMsg{Reason: "the coordinator was interrupted"})
			a.fc.c.Close()
		}
		return nil, context.Cause(ctx)
	}
	m.start = c.startAll(agents)
	if c.OnStart != nil {
		c.OnStart(m.start)
	}
	res := m.loop(ctx)
	c.setStatus(m.status())
	return res, nil
}

// connect dials every agent at once and takes each through hello, pings
// and the plan. If any agent fails, the others are told to stop and closed.
func (c *Coordinator) connect(ctx context.Context, p *engine.Plan, runID string) ([]*remote, error) {
	n := len(c.Agents)
	agents := make([]*remote, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, addr := range c.Agents {
		agents[i] = &remote{addr: addr, seg: engine.Segment{Index: i, Count: n}}
		wg.Go(func() { errs[i] = c.open(ctx, agents[i], agentPlan(p, i, n), runID) })
	}
	wg.Wait()
	var failed []AgentError
	for i, err := range errs {
		if err != nil {
			failed = append(failed, AgentError{Addr: c.Agents[i], Err: err})
		}
	}
	if len(failed) == 0 {
		return agents, nil
	}
	for _, a := range agents {
		if a.fc != nil {
			a.fc.send(msgStop, stopMsg{Reason: "another agent cannot take part"})
			a.fc.c.Close()
		}
	}
	return nil, &PreflightError{Agents: failed}
}

// open dials one agent and takes it to ready.
func (c *Coordinator) open(ctx context.Context, a *remote, p *engine.Plan, runID string) error {
	timeout := c.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	d := &net.Dialer{Timeout: timeout}
	var conn net.Conn
	var err error
	if c.TLS != nil {
		cfg := c.TLS.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName, _, _ = net.SplitHostPort(a.addr)
		}
		td := &tls.Dialer{NetDialer: d, Config: cfg}
		conn, err = td.DialContext(ctx, "tcp", a.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", a.addr)
		if err == nil && !loopback.Conn(conn) {
			// A name such as localhost may resolve anywhere: plaintext only
			// to what was actually reached on loopback.
			conn.Close()
			return fmt.Errorf("%s is not a loopback address: plaintext is allowed only on loopback", conn.RemoteAddr())
		}
	}
	if err != nil {
		return fmt.Errorf("cannot connect: %w", err)
	}
	a.fc = newFrameConn(conn)
	// A cancelled run (Ctrl-C) must not wait out the handshake's timeouts.
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	fail := func(step string, err error) error {
		conn.Close()
		a.fc = nil
		var r *RefusedError
		if errors.As(err, &r) {
			return err
		}
		if ctx.Err() != nil {
			err = context.Cause(ctx)
		} else if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = errors.New("the agent closed the connection (wrong certificate?)")
		}
		return fmt.Errorf("%s: %w", step, err)
	}
	if err := a.fc.send(msgHello, hello{Protocol: Protocol, Version: c.Version, Token: c.Token, Run: runID}); err != nil {
		return fail("hello", err)
	}
	var w welcome
	if err := a.fc.expect(timeout, msgWelcome, &w); err != nil {
		return fail("hello", err)
	}
	if w.Protocol != Protocol {
		return fail("hello", fmt.Errorf("agent speaks protocol v%d (loadgate %s), this coordinator v%d (loadgate %s)", w.Protocol, w.Version, Protocol, c.Version))
	}
	a.name = w.Name
	a.fc.trust()
	for range rttPings {
		t0 := time.Now()
		if err := a.fc.send(msgPing, ping{T: t0.UnixNano()}); err != nil {
			return fail("ping", err)
		}
		var pong ping
		if err := a.fc.expect(timeout, msgPong, &pong); err != nil {
			return fail("ping", err)
		}
		if rtt := time.Since(t0); a.rtt == 0 || rtt < a.rtt {
			a.rtt = rtt
		}
	}
	wp, err := encodePlan(p)
	if err != nil {
		return fail("plan", err)
	}
	if err := a.fc.send(msgPlan, planMsg{Plan: wp, TLS: c.Target}); err != nil {
		return fail("plan", err)
	}
	// The agent checks its targets with a preflight of its own: allow it
	// the preflight's time on top of the round trip.
	if err := a.fc.expect(timeout+10*time.Second, msgReady, &struct{}{}); err != nil {
		return fail("plan", err)
	}
	return nil
}

// agentPlan is p for agent i of n: segment i/n, its share of max_in_flight,
// and unique data split so that no row is used by two agents.
func agentPlan(p *engine.Plan, i, n int) *engine.Plan {
	q := *p
	q.Segment = engine.Segment{Index: i, Count: n}
	if m := q.Load.MaxInFlight; m > 0 {
		// The limit is the run's: the agents share it as they share the
		// arrivals (each at least one), so that overload behaves as on one host.
		q.Load.MaxInFlight = max(1, (m-i+n-1)/n)
	}
	q.Data = append([]engine.Feeder(nil), p.Data...)
	for k, f := range q.Data {
		if f.Order != engine.Unique {
			continue
		}
		var rows [][]string
		for r := i; r < len(f.Rows); r += n {
			rows = append(rows, f.Rows[r])
		}
		q.Data[k].Rows = rows
	}
	return &q
}

// startAll sends every agent its start delay so that all start at the same
// moment, compensating each for half its round trip, and returns that
// moment.
func (c *Coordinator) startAll(agents []*remote) time.Time {
	var slowest time.Duration
	for _, a := range agents {
		slowest = max(slowest, a.rtt)
	}
	lead := startLead + slowest
	t0 := time.Now()
	for _, a := range agents {
		delay := lead - time.Since(t0) - a.rtt/2
		if err := a.fc.send(msgStart, start{Delay: max(delay, 0)}); err != nil {
			a.fc.c.Close() // its reader reports the loss
		}
	}
	return t0.Add(lead)
}

// read is an agent's reader: it checks and decodes every frame, so that
// the decoding of many agents runs in parallel, and hands the results to
// Run's loop. It returns after the done frame or the first error.
func read(a *remote, p *engine.Plan, out chan<- event, quit <-chan struct{}) {
	for next := 1; ; {
		ev := event{a: a}
		t, payload, err := a.fc.recv(PeerTimeout)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			ev.err = fmt.Errorf("no message for %v", PeerTimeout)
		case err != nil:
			ev.err = err
		case t == msgHeartbeat:
			continue
		case t == msgInterval:
			ev.iv, ev.per, ev.err = readInterval(payload, next, p)
			next++
		case t == msgDone:
			ev.done = &doneMsg{}
			ev.err = decode(t, payload, ev.done)
		default:
			ev.err = violation("unexpected %s during the run", t)
		}
		select {
		case out <- ev:
		case <-quit:
			return
		}
		if ev.err != nil || ev.done != nil {
			return
		}
	}
}

// readInterval decodes and checks interval number seq of an agent.
func readInterval(payload []byte, seq int, p *engine.Plan) (*intervalMsg, *engine.Period, error) {
	var iv intervalMsg
	if err := decode(msgInterval, payload, &iv); err != nil {
		return nil, nil, err
	}
	if iv.Seq != seq {
		return nil, nil, violation("%s", describeSeq(iv.Seq, seq))
	}
	if iv.InFlight < 0 || iv.Waiting < 0 || iv.PlannedTotal < 0 {
		return nil, nil, violation("negative in-flight, waiting or planned total")
	}
	if err := checkErrors(iv.Errors); err != nil {
		return nil, nil, err
	}
	per, err := decodePeriod(iv.Period, p)
	if err != nil {
		return nil, nil, err
	}
	return &iv, per, nil
}

func randomID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// observe calls o and reports whether it returned normally; a panic is a
// bug in the observer, returned as an *engine.PanicError.
func observe(o engine.Observer, s *engine.Snapshot) (perr error) {
	defer func() {
		if v := recover(); v != nil {
			perr = &engine.PanicError{Where: "observer", Value: v, Stack: debug.Stack()}
		}
	}()
	o.Observe(s)
	return nil
}
