package engine

// gRPC steps: the engine's part of them (docs/scenario-reference.md, "gRPC
// steps"). A step is compiled once per run into a grpcStep shared by the
// workers: its method resolved from the plan's descriptors (or, with
// reflection, from the server when the run connects), its request encoded
// once when it has no template, its literal metadata built once. The calls
// go through engine/internal/grpcc, one ClientConn per target shared by the
// steps of the run. Latency is measured as for HTTP: from the intended time
// (grpc_req_duration) and from the send (grpc_req_service_time); a
// server-streaming call lasts until its stream ends.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/loadgate/loadgate/engine/internal/grpcc"
	"github.com/loadgate/loadgate/engine/internal/httpc"
)

func init() { protoKinds[ProtoGRPC] = grpcKind{} }

// grpcKind is the gRPC protocol's part of the engine.
type grpcKind struct{}

// grpcResolveTimeout bounds a method's resolution by reflection when the
// run connects.
const grpcResolveTimeout = 10 * time.Second

// grpcStep is a compiled gRPC step, shared by every worker of a run.
type grpcStep struct {
	st            *Step
	sp            *stepPlan
	call          *GRPCCall
	target        string // scheme://host:port
	service, name string
	timeout       time.Duration
	max           int // bytes of the JSON view kept
	// method is the resolved method (nil until the run connects, with
	// reflection); streaming whether the server streams its answer.
	method    *grpcc.Method
	streaming bool
	// wire is the request encoded once, when it has no template (static).
	wire   []byte
	static bool
	// md is the literal metadata; mdTmpl the templated values.
	md     metadata.MD
	mdTmpl []headerTmpl

	r       *run
	conns   *grpcConns
	conn    *grpcc.Conn
	scratch sync.Pool // *grpcScratch: one worker's buffers for one call
}

// grpcScratch is what one call needs of its own.
type grpcScratch struct {
	codec     *grpcc.Codec
	req, resp grpcc.Frame
	wire      []byte
	body      []byte // the JSON view
	md        metadata.MD
	cut       bool
}

func (grpcKind) compile(st *Step, sp *stepPlan, rs *resolver) (protoStep, error) {
	c := st.GRPC
	if c == nil {
		return nil, errors.New("grpc step without a call")
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	service, name, _ := strings.Cut(c.Method, "/")
	u, err := url.Parse(st.URL)
	if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("grpc target %q: want http://host:port or https://host:port", st.URL)
	}
	g := &grpcStep{st: st, sp: sp, call: c, target: targetKey(u), service: service, name: name,
		timeout: st.Timeout, max: maxBody(st), streaming: c.ServerStreaming}
	if g.timeout <= 0 {
		g.timeout = DefaultTimeout
	}
	g.md = metadata.MD{}
	for _, h := range st.Headers {
		key := strings.ToLower(h.Key)
		if err := checkMetadataKey(key); err != nil {
			return nil, err
		}
		if !HasTemplate(h.Value) {
			g.md[key] = append(g.md[key], h.Value)
		}
	}
	for _, h := range sp.headers {
		g.mdTmpl = append(g.mdTmpl, headerTmpl{key: strings.ToLower(h.key), t: h.t})
	}
	if !c.Reflect {
		m, err := grpcc.LoadMethod(c.Descriptors, service, name)
		if err != nil {
			return nil, err
		}
		if err := g.resolved(m); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// checkMetadataKey refuses metadata keys that gRPC reserves.
func checkMetadataKey(key string) error {
	switch {
	case strings.HasPrefix(key, "grpc-"):
		return fmt.Errorf("metadata %s: keys starting with grpc- are gRPC's own", key)
	case key == "content-type" || key == "te" || key == "host" || key == ":authority":
		return fmt.Errorf("metadata %s: set by gRPC itself", key)
	}
	return nil
}

// resolved takes the step's method and encodes a request without
// templates once.
func (g *grpcStep) resolved(m *grpcc.Method) error {
	g.method = m
	g.streaming = m.ServerStreaming()
	g.scratch.New = func() any { return &grpcScratch{codec: grpcc.NewCodec(g.method)} }
	if g.sp.body != nil {
		return nil
	}
	wire, err := grpcc.NewCodec(m).Encode(nil, g.st.Body)
	if err != nil {
		return err
	}
	g.wire, g.static = wire, true
	return nil
}

func (grpcKind) probe(ctx context.Context, e *Engine, st *Step, timeout time.Duration) error {
	u, err := url.Parse(st.URL)
	if err != nil {
		return err
	}
	// A gRPC server over TLS must select h2 by ALPN, as HTTP/2 does.
	if err := httpc.Probe(ctx, u, e.Dial, e.TLS, u.Scheme == "https", timeout); err != nil {
		return err
	}
	if st.GRPC == nil || !st.GRPC.Reflect {
		return nil
	}
	conn, err := grpcc.Dial(st.URL, grpcc.Config{Dial: e.Dial, TLS: e.TLS, UserAgent: e.UserAgent})
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	service, name, _ := strings.Cut(st.GRPC.Method, "/")
	if _, err = grpcc.Reflect(ctx, conn, service, name); errors.Is(err, grpcc.ErrNoSuchMethod) {
		return &StepError{Step: st.Name, Err: err}
	}
	return err
}

// grpcConns are the connections of one run, one per target, shared by
// its gRPC steps; the last step to close closes them.
type grpcConns struct {
	mu    sync.Mutex
	conns map[string]*grpcc.Conn
	refs  int
}

var grpcRuns = struct {
	sync.Mutex
	m map[*run]*grpcConns
}{m: map[*run]*grpcConns{}}

// grpcConn returns the run's connection to target, made on first use.
func (r *run) grpcConn(e *Engine, target string) (*grpcConns, *grpcc.Conn, error) {
	grpcRuns.Lock()
	cs, ok := grpcRuns.m[r]
	if !ok {
		cs = &grpcConns{conns: map[string]*grpcc.Conn{}}
		grpcRuns.m[r] = cs
	}
	grpcRuns.Unlock()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.refs++
	if c, ok := cs.conns[target]; ok {
		return cs, c, nil
	}
	c, err := grpcc.Dial(target, grpcc.Config{Dial: e.Dial, TLS: e.TLS, UserAgent: e.UserAgent,
		Track: func(c net.Conn) (net.Conn, error) { return r.conns.Track(c) }})
	if err != nil {
		return cs, nil, err
	}
	cs.conns[target] = c
	return cs, c, nil
}

func (g *grpcStep) start(r *run, e *Engine) error {
	g.r = r
	cs, conn, err := r.grpcConn(e, g.target)
	g.conns = cs
	if err != nil {
		return err
	}
	g.conn = conn
	if g.method == nil {
		ctx, cancel := context.WithTimeout(context.Background(), grpcResolveTimeout)
		defer cancel()
		m, err := grpcc.Reflect(ctx, conn, g.service, g.name)
		if err != nil {
			return fmt.Errorf("engine: step %q: %w", g.st.Name, err)
		}
		if err := g.resolved(m); err != nil {
			return fmt.Errorf("engine: step %q: %w", g.st.Name, err)
		}
	}
	// Connect before the load, as predial does for HTTP; a failure is
	// left to the calls to report.
	_ = conn.Connect(predialBudget)
	return nil
}

func (g *grpcStep) close() {
	cs := g.conns
	if cs == nil {
		return
	}
	g.conns = nil
	cs.mu.Lock()
	cs.refs--
	last := cs.refs == 0
	cs.mu.Unlock()
	if !last {
		return
	}
	for _, c := range cs.conns {
		c.Close()
	}
	grpcRuns.Lock()
	delete(grpcRuns.m, g.r)
	grpcRuns.Unlock()
}

// exec calls the method once, due at offset due, judges its checks, runs
// its captures and records it.
func (g *grpcStep) exec(w *worker, fi, si int, due time.Duration) (time.Duration, bool) {
	r := w.r
	sp := g.sp
	sc := g.scratch.Get().(*grpcScratch)
	defer g.scratch.Put(sc)
	// The request: encoded once, or rendered and encoded now.
	if g.static {
		sc.req = grpcc.Frame{B: g.wire, Static: true}
	} else {
		w.buf = sp.body.render(w.buf[:0], &w.v)
		var err error
		if sc.wire, err = sc.codec.Encode(sc.wire[:0], w.buf); err != nil {
			return g.unsent(w, fi, si, due, err)
		}
		sc.req = grpcc.Frame{B: sc.wire}
	}
	md := g.md
	if len(g.mdTmpl) > 0 {
		md = g.metadata(w, sc)
	}
	sc.resp.Keep, sc.resp.N, sc.cut = sp.needBody, 0, false
	if sp.needBody && g.streaming {
		sc.body = append(sc.body[:0], '[')
	} else {
		sc.body = sc.body[:0]
	}
	now := time.Now()
	sent := now.Sub(r.start)
	// Under the run's cut: the hard stop cancels the calls in flight.
	deadline := now.Add(g.timeout)
	ctx, cancel := context.WithDeadline(r.cut, deadline)
	var err error
	msgs := 0
	if g.streaming {
		var each func(*grpcc.Frame)
		if sp.needBody {
			each = func(f *grpcc.Frame) { g.view(sc, f.B) }
		}
		msgs, err = g.conn.ServerStream(grpcc.WithMetadata(ctx, md), g.method.Path, &sc.req, &sc.resp, each)
	} else if err = g.conn.Unary(grpcc.WithMetadata(ctx, md), g.method.Path, &sc.req, &sc.resp); err == nil {
		msgs = 1
	}
	// Our deadline passed: the client's timer, or the server's (it knows
	// the deadline, and its DEADLINE_EXCEEDED may come first).
	timedOut := err != nil && (ctx.Err() == context.DeadlineExceeded ||
		status.Code(err) == codes.DeadlineExceeded && !time.Now().Before(deadline))
	cancel()
	end := r.completion(sent, 0)
	if r.hardStopped() {
		w.shard.recordCancel()
		return end, false
	}
	s := sample{flow: fi, step: si, intended: due, sent: sent, end: end, msgs: int64(msgs)}
	code := codes.OK
	answered := true // the server gave a status: checks judge it
	if err != nil {
		code = status.Code(err)
		switch de := g.conn.DialError(); {
		case timedOut:
			s.kind, answered = KindTimeout, false
		case code == codes.Unavailable && de != nil:
			s.kind, answered = classify(de), false
			err = de
		default:
			s.kind = KindOfGRPCCode(uint32(code))
		}
	}
	if answered && g.accepts(code) {
		s.kind = KindNone
	} else if answered && s.kind == KindNone {
		s.kind = KindOfGRPCCode(uint32(code)) // OK, not in the accepted list
		if s.kind == KindNone {
			s.kind = KindStatus
		}
	}
	if err != nil && s.kind != KindNone && r.rec.samples[s.kind].Load() == nil {
		r.rec.noteError(s.kind, fmt.Errorf("%s: %w", g.method.Path, err))
	}
	more := true
	if len(sp.checks) > 0 || len(sp.captures) > 0 {
		body := sc.body
		if sp.needBody && err == nil {
			if g.streaming {
				body = append(body, ']')
			} else {
				g.view(sc, sc.resp.B)
				body = sc.body
			}
		} else {
			body = nil
		}
		sc.body = body
		s.checks = len(sp.checks)
		s.checksHeld = sp.judge(nil, int(code), body, end-sent, answered)
		// A status the step accepts with a capture finds no message to
		// capture from: a capture failure, as an accepted HTTP 404's.
		more = w.captured(sp, g.st.Name, body, sc.cut, answered, &s)
	}
	s.failed = s.kind != KindNone
	w.shard.record(&s)
	return end, more
}

// accepts reports whether code counts as a success: OK, or the codes of
// the step's status check.
func (g *grpcStep) accepts(code codes.Code) bool {
	if len(g.st.Accept) == 0 {
		return code == codes.OK
	}
	for _, a := range g.st.Accept {
		if a == int(code) {
			return true
		}
	}
	return false
}

// view appends the JSON view of one response message to the scratch's
// body (as an element of the array of a stream's messages), within the
// step's max_body: a message that does not fit is left out and the view
// marked cut.
func (g *grpcStep) view(sc *grpcScratch, wire []byte) {
	if sc.cut {
		return
	}
	n := len(sc.body)
	if g.streaming && n > 1 {
		sc.body = append(sc.body, ',')
	}
	var err error
	sc.body, err = sc.codec.JSON(sc.body, wire)
	if err != nil || len(sc.body) > g.max {
		sc.body, sc.cut = sc.body[:n], true
	}
}

// metadata renders the templated metadata into the scratch's own map.
func (g *grpcStep) metadata(w *worker, sc *grpcScratch) metadata.MD {
	if sc.md == nil {
		sc.md = make(metadata.MD, len(g.md)+len(g.mdTmpl))
		for k, v := range g.md {
			sc.md[k] = v
		}
	}
	for i := range g.mdTmpl {
		h := &g.mdTmpl[i]
		w.buf = h.t.render(w.buf[:0], &w.v)
		sc.md[h.key] = []string{string(w.buf)}
	}
	return sc.md
}

// unsent records a call whose request could not be encoded (a template
// rendered a value its field cannot hold): nothing was sent, and the
// iteration stops.
func (g *grpcStep) unsent(w *worker, fi, si int, due time.Duration, err error) (time.Duration, bool) {
	r := w.r
	now := r.since()
	s := sample{flow: fi, step: si, intended: due, sent: now, end: now, kind: KindOther, failed: true}
	if r.rec.samples[KindOther].Load() == nil {
		r.rec.noteError(KindOther, fmt.Errorf("step %q: %w", g.st.Name, err))
	}
	s.checks = len(g.sp.checks)
	w.shard.record(&s)
	return now, false
}
