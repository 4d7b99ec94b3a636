package dist

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/loadgate/loadgate/engine"
)

// Timing of the agent's side of the control channel.
const (
	// handshakeTimeout bounds each step from the TLS handshake to ready.
	handshakeTimeout = 10 * time.Second
	// startWait is how long a ready agent waits for start: the coordinator
	// sends it once every agent is ready, and another agent's preflight
	// may take its dial timeout plus ten seconds.
	startWait = 30 * time.Second
	// maxStartDelay bounds the start frame's delay (a few hundred ms in
	// practice); a longer one is a broken coordinator holding the agent.
	maxStartDelay = time.Minute
	// preflightTimeout bounds the check of each target before ready.
	preflightTimeout = 5 * time.Second
	// safetyMargin is added to the profile and the grace to bound a run's
	// context whatever happens to the control channel.
	safetyMargin = 30 * time.Second
	// intervalBuffer is how many snapshots may wait for the network; a
	// coordinator that falls that far behind is hopelessly slow.
	intervalBuffer = 64
	// maxSessions bounds the connections served at once, most of them
	// refused quickly; beyond it a connection is closed unread.
	maxSessions = 64
	// maxPings bounds the pings before the plan (the coordinator sends 3).
	maxPings = 100
)

// Caps are an agent's limits on the plans it accepts (--max-rate, ...).
// Zero means no cap.
type Caps struct {
	// MaxRate caps the iterations per second this agent starts at the
	// profile's peak: its share of the open model's arrivals, or the closed
	// model's max_rate, which must then be set.
	MaxRate float64
	// MaxDuration caps the length of the load profile.
	MaxDuration time.Duration
	// MaxInFlight caps the iterations at once: the open model's
	// max_in_flight (a plan without one gets the cap) or the closed model's
	// peak users.
	MaxInFlight int
	// MaxBody caps each request body, in bytes; the response bytes kept
	// for checks and captures are lowered to it.
	MaxBody int
}

// Agent serves runs for coordinators, one at a time (loadgate agent). It
// refuses a hello of another protocol version, with a wrong token or while
// busy; it refuses a plan beyond its caps or with a target its allow-list
// does not hold or that does not answer; it stops its load when the
// coordinator says so or is lost. Only aggregates travel back. Every
// accepted or refused run gets one line on Audit, and one more when it ends.
//
// The exported fields are configuration, read by Serve; they must not change
// while Serve runs.
type Agent struct {
	// Token is the shared secret a hello must carry. It is compared in
	// constant time and never logged or echoed.
	Token string
	// Allow is the list of targets; nil allows loopback only.
	Allow *AllowList
	Caps  Caps
	// Name is sent in welcome (default: the host name); Version is
	// loadgate's, for the version check's message and the User-Agent.
	Name, Version string
	// Audit receives the audit lines; Log the other lines (a coordinator
	// lost, a connection that failed its TLS handshake). Nil discards.
	Audit, Log io.Writer
	// TLS is the server configuration of mutual TLS; nil is plaintext.
	// Serve requires and verifies a client certificate whatever its
	// ClientAuth says, and TLS 1.2 at least. A listener that already speaks
	// TLS (tls.Listen) is used as it is.
	TLS *tls.Config
	// Engine, when set, builds the engine of a run from the plan's TLS
	// options (a seam for tests). An engine without Dial gets the
	// allow-list's.
	Engine func(*TLSOptions) (*engine.Engine, error)

	mu sync.Mutex // guards busy; serialises writes to Audit and Log
	// busy is the run in progress (from its hello to its end), or nil.
	busy *session
}

// Serve accepts coordinators on ln until ctx is done, each connection on
// its own goroutine. It then closes ln and every connection, which stops a
// run in progress (the coordinator sees its connection drop), and returns
// nil once every goroutine it started has exited. Another error is the
// listener's.
func (a *Agent) Serve(ctx context.Context, ln net.Listener) error {
	allow := a.Allow
	if allow == nil {
		allow, _ = ParseAllow(nil)
	}
	var serverTLS *tls.Config
	if a.TLS != nil {
		serverTLS = a.TLS.Clone()
		serverTLS.ClientAuth = tls.RequireAndVerifyClientCert
		serverTLS.MinVersion = max(serverTLS.MinVersion, tls.VersionTLS12)
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, maxSessions)
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if !temporaryAccept(err) {
				return err
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			a.logf("accept: %v; retrying in %v", err, backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		select {
		case slots <- struct{}{}:
		default:
			a.logf("%d connections already; closing the one from %s", maxSessions, conn.RemoteAddr())
			conn.Close()
			continue
		}
		s := &session{a: a, allow: allow, conn: conn, peer: conn.RemoteAddr().String()}
		wg.Go(func() {
			defer func() { <-slots }()
			s.serve(ctx, serverTLS)
		})
	}
}

// temporaryAccept reports accept errors that pass: out of descriptors, or
// a connection aborted before it was accepted.
func temporaryAccept(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS)
}

// session is one coordinator's connection.
type session struct {
	a     *Agent
	allow *AllowList
	conn  net.Conn
	fc    *frameConn
	peer  string // address of the coordinator
	cn    string // common name of its certificate, with TLS
	run   string // the run it named in hello, sanitised
	since time.Time
}

// serve takes the connection through the handshake and, when the plan is
// accepted, through the run. The connection is closed when ctx is done.
func (s *session) serve(ctx context.Context, serverTLS *tls.Config) {
	defer func() { s.conn.Close() }()
	raw := s.conn // handshakeTLS replaces s.conn: close what is not written
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	if err := s.handshakeTLS(ctx, serverTLS); err != nil {
		if !errors.Is(err, io.EOF) && ctx.Err() == nil { // a TCP probe (Kubernetes readiness) says nothing
			s.a.logf("connection from %s: TLS handshake: %v", s.peer, err)
		}
		return
	}
	s.fc = newFrameConn(s.conn)
	if !s.hello(ctx) {
		return
	}
	defer s.a.release(s)
	plan, e, ok := s.negotiate(ctx)
	if !ok {
		return
	}
	s.runPlan(ctx, plan, e)
}

// handshakeTLS completes the TLS handshake (a listener's own, or
// serverTLS's) and notes the coordinator's certificate name.
func (s *session) handshakeTLS(ctx context.Context, serverTLS *tls.Config) error {
	tc, ok := s.conn.(*tls.Conn)
	if !ok {
		if serverTLS == nil {
			return nil
		}
		tc = tls.Server(s.conn, serverTLS)
		s.conn = tc
	}
	tc.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := tc.HandshakeContext(ctx); err != nil {
		return err
	}
	tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	if serverTLS != nil && len(st.VerifiedChains) == 0 {
		return errors.New("the coordinator's certificate was not verified")
	}
	if len(st.PeerCertificates) > 0 {
		s.cn = st.PeerCertificates[0].Subject.CommonName
	}
	return nil
}

// hello reads the coordinator's hello and answers welcome, or refuses it
// (version, token, busy, in that order). It reports whether the session
// holds the agent's run slot.
func (s *session) hello(ctx context.Context) bool {
	var h hello
	if err := s.fc.expect(handshakeTimeout, msgHello, &h); err != nil {
		if !errors.Is(err, io.EOF) && ctx.Err() == nil {
			s.a.logf("connection from %s: no hello: %v", s.peer, err)
		}
		return false
	}
	s.run = sanitize(h.Run, 200)
	switch {
	case h.Protocol != Protocol:
		return s.refuse(RefuseVersion, fmt.Sprintf("agent speaks protocol v%d (loadgate %s), coordinator v%d (loadgate %s)",
			Protocol, s.a.Version, h.Protocol, sanitize(h.Version, 64)))
	case !sameToken(s.a.Token, h.Token):
		if h.Token == "" {
			return s.refuse(RefuseAuth, "wrong token: the coordinator sent none (--token-file)")
		}
		return s.refuse(RefuseAuth, "wrong token")
	}
	if busy := s.a.claim(s); busy != "" {
		return s.refuse(RefuseBusy, busy)
	}
	name := s.a.Name
	if name == "" {
		name, _ = os.Hostname()
	}
	if err := s.fc.send(msgWelcome, welcome{Protocol: Protocol, Version: s.a.Version, Name: name}); err != nil {
		s.a.release(s)
		return false
	}
	return true
}

// sameToken compares the tokens' digests in constant time, so that neither
// their contents nor their lengths leak through timing.
func sameToken(want, got string) bool {
	w, g := sha256.Sum256([]byte(want)), sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(w[:], g[:]) == 1
}

// refuse sends a refusal and audits it. It returns false, for the caller's
// return.
func (s *session) refuse(code, reason string) bool {
	s.audit("refused (%s): %s", code, reason)
	s.a.release(s)
	s.fc.send(msgRefuse, refuse{Code: code, Reason: reason})
	return false
}

// claim takes the run slot for s, or returns the busy refusal's reason.
func (a *Agent) claim(s *session) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if b := a.busy; b != nil {
		return fmt.Sprintf("running run %q for %s since %s", b.run, b.peer, b.since.Format(time.RFC3339))
	}
	s.since = time.Now().UTC()
	a.busy = s
	return ""
}

func (a *Agent) release(s *session) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.busy == s {
		a.busy = nil
	}
}

// negotiate answers pings until the plan arrives, checks it (validity,
// caps, allow-list, preflight) and answers ready or refuses it.
func (s *session) negotiate(ctx context.Context) (*engine.Plan, *engine.Engine, bool) {
	var pm planMsg
	for pings := 0; ; pings++ {
		t, payload, err := s.fc.recv(handshakeTimeout)
		if err != nil {
			s.a.logf("coordinator %s: run %q: no plan: %v", s.peer, s.run, err)
			return nil, nil, false
		}
		if t == msgPing && pings < maxPings {
			var p ping
			if decode(t, payload, &p) != nil || s.fc.send(msgPong, p) != nil {
				return nil, nil, false
			}
			continue
		}
		if t != msgPlan {
			s.a.logf("coordinator %s: run %q: got %s, want a plan (after at most %d pings)", s.peer, s.run, t, maxPings)
			return nil, nil, false
		}
		if err := decode(t, payload, &pm); err != nil {
			return nil, nil, s.refuse(RefusePlan, err.Error())
		}
		break
	}
	p := pm.Plan
	if p == nil {
		return nil, nil, s.refuse(RefusePlan, "the plan message holds no plan")
	}
	if err := checkPlan(p); err != nil {
		return nil, nil, s.refuse(RefusePlan, strings.TrimPrefix(err.Error(), "engine: "))
	}
	if err := s.a.Caps.apply(p); err != nil {
		return nil, nil, s.refuse(RefuseCap, err.Error())
	}
	if err := s.checkTargets(ctx, p); err != nil {
		return nil, nil, s.refuse(RefuseTarget, err.Error())
	}
	e, err := s.engine(pm.TLS)
	if err != nil {
		return nil, nil, s.refuse(RefusePlan, err.Error())
	}
	if err := e.Preflight(ctx, p, preflightTimeout); err != nil {
		return nil, nil, s.refuse(RefuseTarget, "preflight: "+err.Error())
	}
	s.audit("accepted: segment %s, peak %s, duration %v", segmentText(p.Segment), peakText(p), p.Load.Duration())
	if err := s.fc.send(msgReady, struct{}{}); err != nil {
		s.ended("0 requests, the coordinator was lost before the start: " + lossText(err))
		return nil, nil, false
	}
	return p, e, true
}

// checkPlan is Plan.Validate plus what the engine would only find out
// after ready: every step URL is absolute http or https, and the open-files
// limit holds the plan's peak.
func checkPlan(p *engine.Plan) error {
	if err := p.Validate(); err != nil {
		return err
	}
	for _, f := range p.Flows {
		for _, st := range f.Steps {
			if u, err := url.Parse(st.URL); err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
				return fmt.Errorf("flow %q step %q: want an absolute http or https URL", f.Name, st.Name)
			}
		}
	}
	return engine.CheckFDLimit(p)
}

// checkTargets checks every step's host:port against the allow-list.
func (s *session) checkTargets(ctx context.Context, p *engine.Plan) error {
	seen := map[string]bool{}
	for _, f := range p.Flows {
		for _, st := range f.Steps {
			u, _ := url.Parse(st.URL) // checked by checkPlan
			port := u.Port()
			if port == "" {
				port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
			}
			hp := net.JoinHostPort(u.Hostname(), port)
			if seen[hp] {
				continue
			}
			seen[hp] = true
			if err := s.allow.Check(ctx, hp); err != nil {
				var d *DeniedError
				if errors.As(err, &d) {
					return err // it names the target
				}
				return fmt.Errorf("target %s: %v", u.Host, err)
			}
		}
	}
	return nil
}

// engine builds the run's engine: the allow-list's dialer and the plan's
// TLS options.
func (s *session) engine(o *TLSOptions) (*engine.Engine, error) {
	if s.a.Engine != nil {
		e, err := s.a.Engine(o)
		if err == nil && e.Dial == nil {
			e.Dial = s.allow.Dial
		}
		return e, err
	}
	cfg, err := o.Config()
	if err != nil {
		return nil, err
	}
	ua := "loadgate"
	if v := strings.TrimPrefix(s.a.Version, "v"); v != "" {
		ua += "/" + v
	}
	return &engine.Engine{Dial: s.allow.Dial, TLS: cfg, UserAgent: ua}, nil
}

// Config builds the client TLS configuration of the agent's HTTP clients.
// A nil o gives a nil configuration (verification with the system roots).
func (o *TLSOptions) Config() (*tls.Config, error) {
	if o == nil {
		return nil, nil
	}
	cfg := &tls.Config{ServerName: o.ServerName, InsecureSkipVerify: o.InsecureSkipVerify, MinVersion: o.MinVersion}
	if v := o.MinVersion; v != 0 && (v < tls.VersionTLS10 || v > tls.VersionTLS13) {
		return nil, fmt.Errorf("tls: unknown min_version 0x%04x", v)
	}
	if len(o.CAPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(o.CAPEM) {
			return nil, errors.New("tls: ca_file holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	if len(o.CertPEM) > 0 || len(o.KeyPEM) > 0 {
		pair, err := tls.X509KeyPair(o.CertPEM, o.KeyPEM)
		if err != nil {
			return nil, fmt.Errorf("tls: client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// audit writes one audit line about this session's run.
func (s *session) audit(format string, a ...any) {
	var b strings.Builder
	fmt.Fprintf(&b, "loadgate agent: audit: %s peer=%s", time.Now().UTC().Format(time.RFC3339), s.peer)
	if s.cn != "" {
		fmt.Fprintf(&b, " cn=%q", sanitize(s.cn, 200))
	}
	fmt.Fprintf(&b, " run=%q ", s.run)
	fmt.Fprintf(&b, format, a...)
	b.WriteByte('\n')
	s.a.write(s.a.Audit, b.String())
}

// logf writes one line to Log.
func (a *Agent) logf(format string, args ...any) {
	a.write(a.Log, "loadgate agent: "+fmt.Sprintf(format, args...)+"\n")
}

func (a *Agent) write(w io.Writer, line string) {
	if w == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	io.WriteString(w, line)
}

// sanitize makes a peer's text safe for a log line: control characters
// become '?', and it is cut to n bytes.
func sanitize(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '\uFFFD' {
			return '?'
		}
		return r
	}, s)
	return shorten(strings.ToValidUTF8(s, "?"), n)
}

func segmentText(s engine.Segment) string {
	if s.Whole() {
		return "whole"
	}
	return s.String()
}

// runPlan waits for the start, runs p and streams its snapshots, then
// sends done. Every goroutine it starts has exited when it returns.
func (s *session) runPlan(ctx context.Context, p *engine.Plan, e *engine.Engine) {
	delay, why := s.awaitStart()
	if why != "" {
		s.ended("0 requests, " + why)
		return
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	l := &link{s: s, ctx: ctx, cancel: cancel, snaps: make(chan *engine.Snapshot, intervalBuffer)}
	readerDone := make(chan struct{})
	go func() { defer close(readerDone); l.read() }()
	defer func() { s.conn.Close(); <-readerDone }()
	hbDone := make(chan struct{})
	hbStop := make(chan struct{})
	go func() { defer close(hbDone); l.heartbeats(hbStop) }()
	defer func() { close(hbStop); <-hbDone }()
	// The start is interruptible: a stop or a lost coordinator during the
	// delay ends the session before anything was sent to a target.
	t := time.NewTimer(delay)
	select {
	case <-t.C:
	case <-runCtx.Done():
		t.Stop()
		s.ended("0 requests, before the start: " + l.why(nil, context.Cause(runCtx)))
		return
	}
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); l.write() }()
	grace := p.Grace
	if grace <= 0 {
		grace = engine.DefaultGrace
	}
	safe, cancelSafe := context.WithTimeoutCause(runCtx, p.Load.Duration()+grace+safetyMargin,
		errors.New("the run outlived its profile and grace by "+safetyMargin.String()+" (the agent's safety limit)"))
	res, err := e.Run(safe, p, engine.ObserverFunc(l.observe))
	cancelSafe()
	close(l.snaps)
	<-writerDone
	if err != nil {
		s.ended("0 requests, the engine refused the plan: " + err.Error())
		return
	}
	var requests int64
	if res.Final.Total.All != nil {
		requests = res.Final.Total.All.Requests
	}
	cause := context.Cause(runCtx) // nil unless stopped or lost
	end := fmt.Sprintf("%d requests in %v, %s", requests, res.Elapsed.Round(time.Millisecond), l.why(res, cause))
	if l.err != nil || l.overflow.Load() || isLoss(cause) || ctx.Err() != nil {
		s.ended(end) // nothing more can be sent: the coordinator is gone
		return
	}
	d := doneMsg{Requests: requests, Started: res.Final.Total.Started, Intervals: l.sent}
	if res.Exhausted != nil {
		d.Exhausted = res.Exhausted.Error()
	}
	if res.Stopped != nil {
		d.Stopped = res.Stopped.Error()
	}
	l.finished.Store(true)
	s.ended(end) // first: a coordinator may start its next run when done arrives
	if err := s.fc.send(msgDone, d); err != nil {
		s.a.logf("coordinator %s: run %q: done not delivered: %v", s.peer, s.run, err)
	}
}

// ended audits the end of the run and frees the agent for the next one.
func (s *session) ended(how string) {
	s.audit("ended: %s", how)
	s.a.release(s)
}

// awaitStart waits for the start frame and returns its delay, or why the
// session ends without a start.
func (s *session) awaitStart() (time.Duration, string) {
	for {
		t, payload, err := s.fc.recv(startWait)
		if err != nil {
			return 0, "the coordinator was lost before the start: " + lossText(err)
		}
		switch t {
		case msgHeartbeat:
			continue
		case msgStop:
			var m stopMsg
			decode(t, payload, &m)
			return 0, "stopped before the start: " + sanitize(m.Reason, 200)
		case msgStart:
			var st start
			switch err := decode(t, payload, &st); {
			case err != nil:
				return 0, err.Error()
			case st.Delay > maxStartDelay:
				return 0, fmt.Sprintf("protocol violation: a start delay of %v (at most %v)", st.Delay, maxStartDelay)
			}
			return max(st.Delay, 0), ""
		}
		return 0, fmt.Sprintf("protocol violation: got %s, want start or stop", t)
	}
}

// link is the control channel during a run: a reader of the coordinator's
// frames, a heartbeat, and a writer of the engine's snapshots.
type link struct {
	s      *session
	ctx    context.Context // the session's: done when the agent shuts down
	cancel context.CancelCauseFunc
	snaps  chan *engine.Snapshot // observe → write, closed after the run
	// overflow is set when a snapshot found snaps full; no interval is
	// sent after it, since the sequence has a hole.
	overflow atomic.Bool
	// finished is set before done is sent: the coordinator hangs up then,
	// which is no loss.
	finished atomic.Bool
	lossOnce sync.Once
	// Owned by write until it returns.
	sent int   // intervals sent
	err  error // the first failed send
}

// lossError is the cause of a run cancelled because the coordinator was
// lost.
type lossError struct{ err error }

func (e *lossError) Error() string { return "the coordinator was lost: " + lossText(e.err) }

func isLoss(err error) bool {
	var le *lossError
	return errors.As(err, &le)
}

// errTooSlow cancels a run whose coordinator does not take its intervals.
var errTooSlow = &lossError{fmt.Errorf("it left %d intervals unread", intervalBuffer)}

func lossText(err error) string {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "its connection closed"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("no message for %v", PeerTimeout)
	}
	return err.Error()
}

// lose cancels the run at once because the coordinator is gone, and closes
// the connection; unless the agent is shutting down, it says so on Log.
// The first loss is the cause: the writes that fail after the close say
// nothing new.
func (l *link) lose(cause error) {
	l.lossOnce.Do(func() {
		if l.ctx.Err() == nil {
			l.s.a.logf("coordinator %s: run %q: %v: stopping the load", l.s.peer, l.s.run, cause)
		}
		l.cancel(cause)
	})
	l.s.conn.Close()
}

// read reads the coordinator's frames until the connection ends: a stop
// cancels the run (the engine drains with the plan's grace), and a read
// error or PeerTimeout of silence is a lost coordinator.
func (l *link) read() {
	for {
		t, payload, err := l.s.fc.recv(PeerTimeout)
		if err != nil {
			if !l.finished.Load() {
				l.lose(&lossError{err})
			}
			return
		}
		switch t {
		case msgHeartbeat:
		case msgStop:
			var m stopMsg
			decode(t, payload, &m)
			l.cancel(errors.New("stopped by the coordinator: " + sanitize(m.Reason, 200)))
		default:
			l.lose(&lossError{violation("got %s during the run", t)})
			return
		}
	}
}

// heartbeats sends a heartbeat every HeartbeatEvery until stop is closed.
func (l *link) heartbeats(stop <-chan struct{}) {
	t := time.NewTicker(HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if err := l.s.fc.send(msgHeartbeat, struct{}{}); err != nil && !l.finished.Load() {
				l.lose(&lossError{err})
				return
			}
		}
	}
}

// observe runs on the engine's collector goroutine: it hands the snapshot
// to write and never waits for the network.
func (l *link) observe(snap *engine.Snapshot) {
	if l.overflow.Load() {
		return
	}
	select {
	case l.snaps <- snap:
	default:
		l.overflow.Store(true)
		l.lose(errTooSlow)
	}
}

// write sends the snapshots in order, each as its interval alone.
func (l *link) write() {
	for snap := range l.snaps {
		if l.err != nil {
			continue // drain
		}
		per, err := encodePeriod(snap.Interval)
		if err == nil {
			err = l.s.fc.send(msgInterval, intervalMsg{
				Seq: snap.Seq, Final: snap.Final, Period: per, InFlight: snap.InFlight,
				PlannedTotal: snap.PlannedTotal, Errors: errorTexts(&snap.ErrorSamples),
			})
		}
		if err != nil {
			l.err = err
			l.lose(&lossError{err})
			continue
		}
		l.sent++
	}
}

// why says how the run ended; res is nil before the start, cause is the
// run context's.
func (l *link) why(res *engine.Result, cause error) string {
	switch {
	case l.ctx.Err() != nil:
		return "the agent is shutting down"
	case res == nil && cause != nil:
		return cause.Error()
	case res == nil:
		return "not started"
	case res.Exhausted != nil:
		return "completed: " + res.Exhausted.Error()
	case res.Stopped != nil:
		return res.Stopped.Error()
	}
	return "completed"
}

// apply checks p against the caps and lowers what a cap lowers: a plan
// without max_in_flight gets the cap, and the response bytes kept for
// checks stop at MaxBody. The error says which cap and by how much.
func (c Caps) apply(p *engine.Plan) error {
	l := &p.Load
	peak := l.StartRate
	for _, s := range l.Stages {
		peak = max(peak, s.Target)
	}
	if c.MaxRate > 0 {
		switch rate := agentRate(p); {
		case l.Model == engine.Closed && l.MaxRate <= 0:
			return fmt.Errorf("a closed-model plan without max_rate may start iterations at any rate; this agent's cap is %g/s (--max-rate): set load.max_rate", c.MaxRate)
		case rate > c.MaxRate*(1+1e-9):
			return fmt.Errorf("the peak rate for this agent, %.4g/s, exceeds its cap of %g/s (--max-rate)", rate, c.MaxRate)
		}
	}
	if c.MaxDuration > 0 && l.Duration() > c.MaxDuration {
		return fmt.Errorf("the load lasts %v, beyond this agent's cap of %v (--max-duration)", l.Duration(), c.MaxDuration)
	}
	if c.MaxInFlight > 0 {
		switch {
		case l.Model == engine.Closed && agentUsers(p) > float64(c.MaxInFlight):
			return fmt.Errorf("%g users on this agent exceed its cap of %d in flight (--max-in-flight)", agentUsers(p), c.MaxInFlight)
		case l.MaxInFlight > c.MaxInFlight:
			return fmt.Errorf("max_in_flight %d exceeds this agent's cap of %d (--max-in-flight)", l.MaxInFlight, c.MaxInFlight)
		case l.MaxInFlight <= 0:
			l.MaxInFlight = c.MaxInFlight
		}
	}
	if c.MaxBody > 0 {
		for fi := range p.Flows {
			f := &p.Flows[fi]
			for si := range f.Steps {
				st := &f.Steps[si]
				if len(st.Body) > c.MaxBody {
					return fmt.Errorf("flow %q step %q: a body of %d bytes exceeds this agent's cap of %d (--max-body)", f.Name, st.Name, len(st.Body), c.MaxBody)
				}
				if kept := st.MaxBody; kept <= 0 && engine.DefaultMaxBody > c.MaxBody || kept > c.MaxBody {
					st.MaxBody = c.MaxBody
				}
			}
		}
	}
	return nil
}

// agentRate is the most iterations per second p starts on this agent: its
// segment's share of the open model's peak (arrivals are split) or of the
// closed model's max_rate (0: unpaced).
func agentRate(p *engine.Plan) float64 {
	l := &p.Load
	if l.Model == engine.Closed {
		if p.Segment.Count > 1 {
			return l.MaxRate / float64(p.Segment.Count)
		}
		return l.MaxRate
	}
	peak := l.StartRate
	for _, s := range l.Stages {
		peak = max(peak, s.Target)
	}
	if p.Segment.Count > 1 {
		peak /= float64(p.Segment.Count)
	}
	return peak
}

// agentUsers is the most users of a closed-model plan this agent runs:
// users are split among the segments like arrivals.
func agentUsers(p *engine.Plan) float64 {
	users := p.Load.StartRate
	for _, s := range p.Load.Stages {
		users = max(users, s.Target)
	}
	if p.Segment.Count > 1 {
		users = math.Ceil(math.Round(users) / float64(p.Segment.Count))
	}
	return users
}

// peakText describes the plan's peak on this agent for the audit line.
func peakText(p *engine.Plan) string {
	if p.Load.Model != engine.Closed {
		return fmt.Sprintf("rate %.4g/s", agentRate(p))
	}
	users := agentUsers(p)
	if p.Load.MaxRate > 0 {
		return fmt.Sprintf("%g users, rate %.4g/s", users, agentRate(p))
	}
	return fmt.Sprintf("%g users, unpaced", users)
}
