package cluster

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
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
// (token, version, busy, in that order). It reports whether the session
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
	// The token first: a peer without it learns nothing, not even the
	// agent's version.
	switch {
	case !sameToken(s.a.Token, h.Token):
		if h.Token == "" {
			return s.refuse(RefuseAuth, "wrong token: the coordinator sent none (--token-file)")
		}
		return s.refuse(RefuseAuth, "wrong token")
	case h.Protocol != Protocol:
		return s.refuse(RefuseVersion, fmt.Sprintf("agent speaks protocol v%d (loadgate %s), coordinator v%d (loadgate %s)",
			Protocol, s.a.Version, h.Protocol, sanitize(h.Version, 64)))
	}
	s.fc.trust()
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
	if pm.Plan == nil {
		return nil, nil, s.refuse(RefusePlan, "the plan message holds no plan")
	}
	p, err := pm.Plan.plan()
	if err != nil {
		return nil, nil, s.refuse(RefusePlan, err.Error())
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

// Config builds the client TLS configuration of the agent's HTTP clients
// with the one builder of local runs too (engine.TLSOptions.Config). A nil
// o gives a nil configuration (verification with the system roots).
func (o *TLSOptions) Config() (*tls.Config, error) {
	return o.Options().Config()
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
