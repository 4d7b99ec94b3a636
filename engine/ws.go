package engine

// WebSocket steps (Step.Protocol ProtoWS, Step.WS): each execution of the
// step is one session over its own connection. The worker that runs the
// step runs the session too: it dials and does the opening handshake, sends
// each exchange's messages, waits for a message that passes the exchange's
// checks (the session's reader, engine/internal/wsc, hands it the peer's
// messages), holds the session open until close_after, and closes it.
//
// Latency follows the rest of the engine: ws_connect_duration and the first
// expectation's ws_msg_duration count from the step's intended time, so a
// late start is measured (coordinated omission); a later expectation's
// counts from the end of the exchange before it, when its send was due.
// ws_msg_service_time counts from the actual send. The session as a whole
// is the step's sample (ws_sessions, ws_session_duration,
// ws_session_failed, and the errors by kind), with the ws figures beside it
// (StepStats.WS).

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/loadgate/loadgate/engine/internal/httpc"
	"github.com/loadgate/loadgate/engine/internal/wsc"
	"github.com/valyala/fasthttp"
)

func init() { protoKinds[ProtoWS] = wsKind{} }

// wsCloseWait bounds the wait for the peer's close frame after ours.
const wsCloseWait = time.Second

// wsReserved are the handshake headers the client writes itself; a step's
// (a default header's) of the same name is dropped.
var wsReserved = []string{"Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions", "Sec-Websocket-Protocol"}

type wsKind struct{}

// wsStep is a compiled WebSocket step, shared by the workers of a run.
type wsStep struct {
	st     *Step
	dialer *wsc.Dialer
	// header holds the handshake's literal headers (templated ones are
	// rendered per session over a copy).
	header http.Header
	sends  [][]wsSend // per exchange
	// checks[i] and caps[i] are the first of exchange i's checks and
	// captures in the step's; one more entry ends the last exchange's.
	checks, caps []int
	expects      int // exchanges that expect a message
}

// wsSend is one message to send: lit, or t rendered.
type wsSend struct {
	lit []byte
	t   *template
}

// wsSample is what one session measured beyond its step sample.
type wsSample struct {
	connected bool
	connect   time.Duration // handshake done − intended
	// msgs holds each matched expectation's durations (from the intended
	// send, from the actual send); the worker's, reused.
	msgs             []wsTimes
	received, sent   int64
	expected, missed int64
}

type wsTimes struct{ d, service time.Duration }

func (wsKind) compile(st *Step, sp *stepPlan, rs *resolver) (protoStep, error) {
	ws := st.WS
	if ws == nil {
		return nil, errors.New("a WebSocket step needs its session (Step.WS)")
	}
	if err := ws.validate(st); err != nil {
		return nil, err
	}
	x := &wsStep{st: st}
	ci, ki := 0, 0
	for i, ex := range ws.Exchanges {
		var sends []wsSend
		for _, m := range ex.Send {
			t, err := compileTemplate(m.Text, m.Escape, rs)
			if err != nil {
				return nil, fmt.Errorf("ws exchange %d: send: %w", i+1, err)
			}
			sends = append(sends, wsSend{lit: []byte(m.Text), t: t})
		}
		x.sends = append(x.sends, sends)
		x.checks, x.caps = append(x.checks, ci), append(x.caps, ki)
		// The captures of this exchange are there for the later ones (and
		// steps): compileFlow gives them the same slots after this.
		for _, c := range st.Captures[ki : ki+ex.Captures] {
			if _, ok := rs.captures[c.Name]; !ok {
				rs.captures[c.Name] = len(rs.captures)
			}
		}
		ci, ki = ci+ex.Checks, ki+ex.Captures
		if ex.Expect {
			x.expects++
		}
	}
	x.checks, x.caps = append(x.checks, ci), append(x.caps, ki)
	return x, nil
}

// validate checks what the engine relies on in a WebSocket step.
func (ws *WSSession) validate(st *Step) error {
	if ws.Ping < 0 || ws.CloseAfter < 0 {
		return errors.New("ws: ping and close_after must not be negative")
	}
	nc, nk := 0, 0
	for i, ex := range ws.Exchanges {
		switch {
		case ex.Within < 0 || ex.Checks < 0 || ex.Captures < 0:
			return fmt.Errorf("ws exchange %d: negative within, checks or captures", i+1)
		case len(ex.Send) == 0 && !ex.Expect:
			return fmt.Errorf("ws exchange %d sends nothing and expects nothing", i+1)
		case !ex.Expect && (ex.Checks > 0 || ex.Captures > 0 || ex.Within > 0):
			return fmt.Errorf("ws exchange %d has checks, captures or within but no expect", i+1)
		}
		nc += ex.Checks
		nk += ex.Captures
	}
	if nc != len(st.Checks) || nk != len(st.Captures) {
		return fmt.Errorf("ws: the exchanges have %d checks and %d captures, the step %d and %d", nc, nk, len(st.Checks), len(st.Captures))
	}
	for _, c := range st.Checks {
		if c.Kind != CheckJSONEquals && c.Kind != CheckJSONExists && c.Kind != CheckBodyContains {
			return fmt.Errorf("ws: a message is judged by json and body_contains checks only, not %s", checkKindNames[c.Kind])
		}
	}
	for _, c := range st.Captures {
		if c.From == CaptureHeader {
			return fmt.Errorf("ws: capture %s: a message has no headers", c.Name)
		}
	}
	if !strings.HasPrefix(st.URL, "ws://") && !strings.HasPrefix(st.URL, "wss://") {
		return fmt.Errorf("ws: url %q: want ws:// or wss://", st.URL)
	}
	return nil
}

// bound is the longest a session of st can last: its handshake, each
// expectation's wait (all of them within close_after, when set), and the
// close; for the default grace period (StopGrace).
func (ws *WSSession) bound(st *Step) time.Duration {
	timeout := st.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	var waits time.Duration
	for _, ex := range ws.Exchanges {
		if ex.Within > 0 {
			waits += ex.Within
		} else if ex.Expect || len(ex.Send) > 0 {
			waits += timeout
		}
	}
	if ws.CloseAfter > 0 {
		waits = min(waits, ws.CloseAfter)
	}
	return timeout + waits + wsCloseWait
}

func (wsKind) probe(ctx context.Context, e *Engine, st *Step, timeout time.Duration) error {
	u, err := url.Parse(st.URL)
	if err != nil {
		return err
	}
	hu := *u
	hu.Scheme = "http"
	if u.Scheme == "wss" {
		hu.Scheme = "https"
	}
	return httpc.Probe(ctx, &hu, e.Dial, e.TLS, false, timeout)
}

// start builds the step's dialer: through the engine's dial, tracked by
// the run (wire bytes, and the hard stop that closes every connection).
func (x *wsStep) start(r *run, e *Engine) error {
	dial := func(ctx context.Context, addr string) (net.Conn, error) {
		var c net.Conn
		var err error
		if e.Dial != nil {
			c, err = e.Dial(addr)
		} else {
			c, err = (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext(ctx, "tcp", addr)
		}
		if err != nil {
			return nil, err
		}
		return r.conns.Track(c)
	}
	st := x.st
	x.dialer = wsc.NewDialer(wsc.Config{Dial: dial, TLS: e.TLS, Subprotocols: st.WS.Subprotocols, MaxMessage: maxBody(st)})
	x.header = http.Header{}
	for _, h := range st.Headers {
		k := http.CanonicalHeaderKey(h.Key)
		if !HasTemplate(h.Value) && !wsReservedHeader(k) {
			x.header.Set(k, h.Value)
		}
	}
	if x.header.Get("User-Agent") == "" && !x.templated("User-Agent") {
		ua := e.UserAgent
		if ua == "" {
			ua = "loadgate"
		}
		x.header.Set("User-Agent", ua)
	}
	return nil
}

func wsReservedHeader(k string) bool {
	for _, r := range wsReserved {
		if k == r {
			return true
		}
	}
	return false
}

func (x *wsStep) templated(key string) bool {
	for _, h := range x.st.Headers {
		if strings.EqualFold(h.Key, key) && HasTemplate(h.Value) {
			return true
		}
	}
	return false
}

func (x *wsStep) close() {}

// handshake returns the URL and headers of a session's handshake, with
// the step's templates rendered and the iteration's cookies for the host.
// The headers are the step's shared literal ones unless something was
// added, then a copy.
func (x *wsStep) handshake(w *worker, fi, si int, sp *stepPlan) (string, http.Header) {
	u := x.st.URL
	if sp.url != nil {
		w.buf = sp.url.render(append(w.buf[:0], sp.prefix...), &w.v)
		u = string(w.buf)
	}
	h := x.header
	if len(sp.headers) > 0 {
		h = x.header.Clone()
		for i := range sp.headers {
			ht := &sp.headers[i]
			if k := http.CanonicalHeaderKey(ht.key); !wsReservedHeader(k) {
				w.buf = ht.t.render(w.buf[:0], &w.v)
				h.Set(k, string(w.buf))
			}
		}
	}
	if w.r.plan.NoCookies {
		return u, h
	}
	// The jar applies to a request: the worker's request slot of this
	// step, which an HTTP step would use, serves as one.
	req := w.reqs[fi][si]
	if req == nil {
		req = &fasthttp.Request{}
		w.reqs[fi][si] = req
	}
	req.Header.DelAllCookies()
	if w.jar.Apply(sp.hostB, req) {
		if len(sp.headers) == 0 {
			h = x.header.Clone()
		}
		c := string(req.Header.Peek("Cookie"))
		if old := h.Get("Cookie"); old != "" {
			c = old + "; " + c
		}
		h.Set("Cookie", c)
	}
	return u, h
}

// exec runs one session of the step for w, due at offset due.
func (x *wsStep) exec(w *worker, fi, si int, due time.Duration) (time.Duration, bool) {
	r := w.r
	st := x.st
	sp := &r.flows[fi].steps[si]
	u, h := x.handshake(w, fi, si, sp)
	now := time.Now()
	sent := now.Sub(r.start)
	parent := r.cut // cancelled at the hard stop
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithDeadline(parent, now.Add(st.Timeout))
	sess, err := x.dialer.Dial(ctx, u, h)
	cancel()
	connected := r.completion(sent, 0)
	if r.hardStopped() {
		if sess != nil {
			sess.Abort()
		}
		w.shard.recordCancel()
		return connected, false
	}
	ws := &w.ws
	*ws = wsSample{msgs: ws.msgs[:0], expected: int64(x.expects)}
	s := sample{flow: fi, step: si, intended: due, sent: sent, end: connected, checks: len(sp.checks), ws: ws}
	more := true
	if err != nil {
		var he *wsc.HandshakeError
		if errors.As(err, &he) {
			s.kind = KindWSHandshake
		} else {
			s.kind = classify(err)
		}
		r.rec.noteError(s.kind, fmt.Errorf("step %q: %w", st.Name, err))
		more = len(st.Captures) == 0
	} else {
		ws.connected, ws.connect = true, connected-due
		s.end, s.kind, more = x.session(w, sp, sess, &s, due, connected)
		if r.hardStopped() {
			w.shard.recordCancel()
			return s.end, false
		}
	}
	ws.missed = ws.expected - int64(len(ws.msgs))
	s.failed = s.kind != KindNone
	w.shard.record(&s)
	return s.end, more
}

// session runs the exchanges of an open session, holds it until
// close_after, and closes it. It returns the end offset, the failure kind,
// and whether the iteration may go on (every capture took).
func (x *wsStep) session(w *worker, sp *stepPlan, sess *wsc.Session, s *sample, due, connected time.Duration) (time.Duration, Kind, bool) {
	r := w.r
	st := x.st
	ws := &w.ws
	var tick <-chan time.Time
	if p := st.WS.Ping; p > 0 {
		t := time.NewTicker(p)
		defer t.Stop()
		tick = t.C
	}
	var closeAt time.Time
	if ca := st.WS.CloseAfter; ca > 0 {
		closeAt = r.start.Add(connected + ca)
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	ping := func() { _ = sess.Ping(time.Now().Add(st.Timeout)) }

	kind, more, ended := KindNone, true, false
	took := 0          // captures that took
	var endErr error   // the message that ended the session, when it did
	intended := due    // when the current exchange was due
	var waitingFor int // the exchange waited for, 1-based, for messages
exchanges:
	for i := range st.WS.Exchanges {
		ex := &st.WS.Exchanges[i]
		within := ex.Within
		if within <= 0 {
			within = st.Timeout
		}
		began := time.Now()
		for _, m := range x.sends[i] {
			data := m.lit
			if m.t != nil {
				w.buf = m.t.render(w.buf[:0], &w.v)
				data = w.buf
			}
			if err := sess.Send(data, false, began.Add(within)); err != nil {
				kind = classify(err)
				r.rec.noteError(kind, fmt.Errorf("step %q: ws exchange %d: send: %w", st.Name, i+1, err))
				break exchanges
			}
			ws.sent++
		}
		sentAt := began.Sub(r.start)
		if !ex.Expect {
			intended = r.since()
			continue
		}
		waitingFor = i + 1
		deadline := began.Add(within)
		if !closeAt.IsZero() && closeAt.Before(deadline) {
			deadline = closeAt
		}
		timer.Reset(time.Until(deadline))
		var received int64
	wait:
		for {
			select {
			case m, ok := <-sess.Messages():
				if !ok || m.Err != nil {
					ended, endErr = true, m.Err
					break exchanges
				}
				ws.received++
				received++
				if !x.matches(sp, i, m.Data) {
					continue
				}
				at := m.At.Sub(r.start)
				ws.msgs = append(ws.msgs, wsTimes{at - intended, at - sentAt})
				for c := x.checks[i]; c < x.checks[i+1]; c++ {
					s.checksHeld |= 1 << c
				}
				if x.caps[i] < x.caps[i+1] {
					cp := stepPlan{captures: sp.captures[x.caps[i]:x.caps[i+1]]}
					if miss := cp.capture(nil, m.Data, &w.v); miss != nil {
						kind, more = KindCapture, false
						if r.rec.samples[KindCapture].Load() == nil {
							r.rec.noteError(KindCapture, fmt.Errorf("step %q: ws exchange %d: capture %s: %s found nothing in the message that matched (%d bytes); the iteration stopped there",
								st.Name, i+1, miss.c.Name, miss.c.Expr, len(m.Data)))
						}
						break exchanges
					}
				}
				took += x.caps[i+1] - x.caps[i]
				intended = at
				break wait
			case <-timer.C:
				kind = KindTimeout
				if r.rec.samples[KindTimeout].Load() == nil {
					what := fmt.Sprintf("within %v", within)
					if deadline.Equal(closeAt) {
						what = fmt.Sprintf("before close_after (%v)", st.WS.CloseAfter)
					}
					r.rec.noteError(kind, fmt.Errorf("step %q: ws exchange %d: no message matched its expect %s (%d received meanwhile)", st.Name, i+1, what, received))
				}
				break exchanges
			case <-tick:
				ping()
			}
		}
		timer.Stop()
	}
	if kind == KindNone && !ended && !closeAt.IsZero() {
		waitingFor = 0
		timer.Reset(time.Until(closeAt))
	hold:
		for {
			select {
			case m, ok := <-sess.Messages():
				if !ok || m.Err != nil {
					ended, endErr = true, m.Err
					break hold
				}
				ws.received++
			case <-timer.C:
				break hold
			case <-r.stop:
				break hold // the run stopped: the session was only held open
			case <-tick:
				ping()
			}
		}
	}
	switch {
	case ended:
		kind = x.ended(w, endErr, waitingFor)
		sess.Abort()
	case kind != KindNone:
		// A peer that did not answer in time is not waited for again: the
		// close frame goes out, and the connection is closed.
		ws.received += int64(sess.Close(0))
	default:
		ws.received += int64(sess.Close(wsCloseWait))
	}
	// The iteration goes on unless a capture of the step did not take:
	// later steps would use a missing value (as after an HTTP step).
	more = more && took == len(st.Captures)
	return r.completion(s.sent, 0), kind, more
}

// ended classes the end of a session the step did not end itself: the
// peer closed it (a close frame, or the connection ended without one), or
// the connection failed.
func (x *wsStep) ended(w *worker, err error, waitingFor int) Kind {
	r := w.r
	kind := KindWSClosed
	if _, ok := wsc.Closed(err); !ok && err != nil {
		kind = classify(err)
	}
	if r.rec.samples[kind].Load() == nil && err != nil {
		what := "before close_after"
		if waitingFor > 0 {
			what = fmt.Sprintf("while exchange %d waited for a message", waitingFor)
		}
		if kind == KindWSClosed {
			r.rec.noteError(kind, fmt.Errorf("step %q: the peer closed the session %s: %w", x.st.Name, what, err))
		} else {
			r.rec.noteError(kind, fmt.Errorf("step %q: the session failed %s: %w", x.st.Name, what, err))
		}
	}
	return kind
}

// matches reports whether a message passes exchange i's checks.
func (x *wsStep) matches(sp *stepPlan, i int, data []byte) bool {
	for c := x.checks[i]; c < x.checks[i+1]; c++ {
		if !sp.checks[c].holds(nil, 0, data, 0) {
			return false
		}
	}
	return true
}
