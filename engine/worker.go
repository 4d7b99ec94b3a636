package engine

import (
	"strings"
	"time"

	"github.com/loadgate/loadgate/engine/internal/httpc"
	"github.com/valyala/fasthttp"
)

// stepExec is a step ready to send: its client and a request template built
// once. Shared read-only by all workers.
type stepExec struct {
	step *Step
	doer httpc.Doer
	tmpl *fasthttp.Request
}

// worker is one goroutine's private state: a shard to record into, request
// objects copied from the templates on first use and reused for every
// request after that, one response and one timer, and the journey state of
// the iteration it runs (template values, cookie jar, body buffers).
// Nothing here is shared.
type worker struct {
	r     *run
	id    int
	shard *shard
	reqs  [][]*fasthttp.Request
	// cookied marks requests that carry jar cookies from their last use.
	cookied [][]bool
	resp    *fasthttp.Response
	// wt is the worker's place in the run's clock, for all its waits.
	wt *waiter
	// x carries an exchange's extras (httpc.HostClient.Exchange); keep
	// is its body keeper.
	x    httpc.Xfer
	keep httpc.Keeper

	v     vars
	jar   httpc.Jar
	rng   rng
	buf   []byte // rendering scratch
	body  []byte // kept body of the last response
	gz    []byte // inflated body
	redir httpc.Redirector
	// ws is the figures of the WebSocket session the worker runs (ws.go).
	ws wsSample

	// logic is the flow-logic state by flow (logic.go), made on first use;
	// status is the HTTP status of the last request sent, for conditions.
	logic  []*logicState
	status int
}

func (r *run) newWorker(id int) *worker {
	w := &worker{
		r:       r,
		id:      id,
		shard:   r.rec.shards[id%len(r.rec.shards)],
		reqs:    make([][]*fasthttp.Request, len(r.steps)),
		cookied: make([][]bool, len(r.steps)),
		resp:    &fasthttp.Response{},
		wt:      r.clock.newWaiter(),
		rng:     rng{s: uint64(id)*0x2545f4914f6cdd1d + uint64(r.start.UnixNano())},
	}
	for fi := range r.steps {
		w.reqs[fi] = make([]*fasthttp.Request, len(r.steps[fi]))
		w.cookied[fi] = make([]bool, len(r.steps[fi]))
	}
	w.v = vars{captures: make([][]byte, r.maxSlots), rows: make([]int, len(r.plan.Data)),
		feeders: r.plan.Data, vu: id, rng: &w.rng}
	return w
}

// sleep waits d on the run's clock, or until the run stops; it reports
// whether the full wait happened.
func (w *worker) sleep(d time.Duration) bool {
	return w.until(w.r.since() + d)
}

// until waits for offset at of the run on its clock, or until the run
// stops; it reports whether at was reached.
func (w *worker) until(at time.Duration) bool {
	return w.r.clock.wait(w.wt, at) && !w.r.stopping()
}

// deferRead is an open-model worker's Xfer.Pace: its reads wait for the
// clock's next wake-up. Not when the pool is full: then a deferred read
// could keep an arrival waiting for this worker.
func (w *worker) deferRead() {
	if !w.r.poolFull() {
		w.r.clock.nextWake(w.wt)
	}
}

// iterate runs flow fi once as arrival n. intended is when the iteration
// should have started; the first request's latency is measured from it, so
// any wait for a free worker counts. Later steps are due when the previous
// one ended plus its think time. A step whose captures found nothing ends
// the iteration: later steps would use a missing value. It returns when
// the iteration's last response was complete (open.go: when its slot came
// free).
func (w *worker) iterate(n int64, fi int, intended time.Duration) (end time.Duration) {
	r := w.r
	r.inFlight.Add(1)
	defer r.inFlight.Add(-1)
	if !w.begin(n, fi) {
		return r.since()
	}
	if fl := r.flows[fi].logic; fl != nil {
		return w.interpret(fi, fl, intended)
	}
	due := intended
	end = intended
	for si := range r.steps[fi] {
		if si > 0 && r.stopping() {
			return end // a stopped run starts no new requests
		}
		var more bool
		end, more = w.send(fi, si, due)
		if !more {
			break
		}
		think := w.think(r.steps[fi][si].step)
		if think > 0 && si < len(r.steps[fi])-1 {
			if !w.sleep(think) {
				return end
			}
		}
		due = end + think
	}
	if !r.hardStopped() {
		w.shard.recordIteration(fi, end-intended)
	}
	return end
}

// begin sets up the iteration's values: its number, a row of each feeder
// the flow reads, an empty cookie jar. It reports false when a unique
// feeder has no row left, which ends the run's scheduling.
func (w *worker) begin(n int64, fi int) bool {
	r := w.r
	w.v.iter = n
	w.jar.Reset()
	for _, di := range r.flows[fi].feeders {
		f := &r.plan.Data[di]
		row, ok := r.cursors.pick(f, di, &w.rng)
		if !ok {
			r.exhaust(f)
			return false
		}
		w.v.rows[di] = row
	}
	return true
}

// think is the pause after st: fixed, or drawn from [Think, ThinkMax].
func (w *worker) think(st *Step) time.Duration {
	if st.ThinkMax > st.Think {
		return st.Think + time.Duration(w.rng.uint64n(uint64(st.ThinkMax-st.Think)+1))
	}
	return st.Think
}

// request returns the worker's request for step (fi, si), ready to send:
// built from the step's template on first use; after that, only the
// templated parts are rendered again and jar cookies added. A step without
// templates and cookies is sent as it is, without any work.
func (w *worker) request(fi, si int, ex *stepExec, sp *stepPlan) *fasthttp.Request {
	req := w.reqs[fi][si]
	if req == nil {
		req = &fasthttp.Request{}
		ex.tmpl.CopyTo(req)
		if sp.url != nil {
			req.Header.SetHost(sp.host)
		}
		w.reqs[fi][si] = req
	}
	if w.cookied[fi][si] {
		req.Header.DelAllCookies()
		for _, h := range ex.step.Headers {
			if strings.EqualFold(h.Key, "Cookie") {
				req.Header.Set(h.Key, h.Value)
			}
		}
		w.cookied[fi][si] = false
	}
	if sp.url != nil {
		w.buf = sp.url.render(w.buf[:0], &w.v)
		req.SetRequestURIBytes(w.buf)
	}
	for i := range sp.headers {
		h := &sp.headers[i]
		w.buf = h.t.render(w.buf[:0], &w.v)
		req.Header.SetBytesV(h.key, w.buf)
	}
	if sp.body != nil {
		w.buf = sp.body.render(w.buf[:0], &w.v)
		req.SetBody(w.buf)
	}
	if !w.r.plan.NoCookies && w.jar.Apply(sp.hostB, req) {
		w.cookied[fi][si] = true
	}
	return req
}

// send performs one request due at the given offset (following redirects),
// judges its checks, runs its captures and records it. It returns the
// completion offset and whether the iteration may go on.
func (w *worker) send(fi, si int, due time.Duration) (time.Duration, bool) {
	r := w.r
	ex := &r.steps[fi][si]
	sp := &r.flows[fi].steps[si]
	if sp.proto != nil {
		return sp.proto.exec(w, fi, si, due)
	}
	req := w.request(fi, si, ex, sp)
	now := time.Now()
	sent := now.Sub(r.start)
	body, cut, err := w.do(ex.doer, req, now, ex.step.Timeout, sp, maxBody(ex.step))
	kind := KindNone
	if err == nil && !r.plan.NoCookies {
		w.jar.Store(sp.hostB, w.resp)
	}
	if err == nil && ex.step.MaxRedirects > 0 && httpc.IsRedirect(w.resp.StatusCode()) {
		body, cut, kind, err = w.follow(ex, sp, req, sent)
	}
	end := r.completion(sent, w.x.Stamp)
	if r.hardStopped() {
		// Cut off by our own hard stop: not the target's doing, and its
		// outcome unknown; counted apart (Period.Cancelled).
		w.shard.recordCancel()
		return end, false
	}
	s := sample{flow: fi, step: si, intended: due, sent: sent, end: end}
	switch {
	case err != nil && kind == KindNone:
		s.kind = classify(err)
		r.rec.noteError(s.kind, err)
	case err != nil:
		s.kind = kind
		r.rec.noteError(kind, err)
	default:
		s.status = w.resp.StatusCode()
		if !ex.step.accepts(s.status) {
			s.kind = statusKind(s.status)
		}
	}
	more := true
	if len(sp.checks) > 0 || len(sp.captures) > 0 {
		if sp.needBody && err == nil {
			body, w.gz = httpc.DecodeBody(w.resp, body, w.gz, maxBody(ex.step))
		}
		s.checks = len(sp.checks)
		s.checksHeld = sp.judge(w.resp, s.status, body, end-sent, err == nil)
		more = w.captured(sp, ex.step.Name, body, cut, err == nil, &s)
	}
	s.failed = s.kind != KindNone
	w.status = s.status
	w.shard.record(&s)
	return end, more
}

// captured runs the step's captures and reports whether the iteration may
// go on: not when the request failed or a capture found nothing.
func (w *worker) captured(sp *stepPlan, step string, body []byte, cut, got bool, s *sample) bool {
	if len(sp.captures) == 0 {
		return true
	}
	if !got {
		return false
	}
	miss := sp.capture(w.resp, body, &w.v)
	if miss == nil {
		return true
	}
	if s.kind == KindNone {
		s.kind = KindCapture
		if w.r.rec.samples[KindCapture].Load() == nil {
			w.r.rec.noteError(KindCapture, captureError(step, miss, s.status, len(body), cut))
		}
	}
	return false
}

func maxBody(st *Step) int {
	if st.MaxBody > 0 {
		return st.MaxBody
	}
	return DefaultMaxBody
}

// do sends req through d, keeping the body when the step's checks or
// captures read it. Through the HTTP/1.1 client it also gets the
// response's receive timestamp (w.x.Stamp) and may defer the read (w.x.Pace).
// now is when the caller read the clock for the send, so that the deadline
// counts from the same reading; the zero Time has the exchange read it.
func (w *worker) do(d httpc.Doer, req *fasthttp.Request, now time.Time, timeout time.Duration, sp *stepPlan, limit int) ([]byte, bool, error) {
	w.x.Stamp = 0
	if hc, ok := d.(*httpc.HostClient); ok {
		w.x.Now = now
		w.x.Keep = nil
		if sp.needBody {
			w.keep = httpc.Keeper{Buf: w.body[:0], Max: limit}
			w.x.Keep = &w.keep
		}
		err := hc.Exchange(req, w.resp, timeout, &w.x)
		if !sp.needBody {
			return nil, false, err
		}
		w.body = w.keep.Buf
		return w.body, w.keep.Cut, err
	}
	if !sp.needBody {
		return nil, false, d.Do(req, w.resp, timeout)
	}
	if bd, ok := d.(httpc.BodyDoer); ok {
		var cut bool
		var err error
		w.body, cut, err = bd.DoBody(req, w.resp, timeout, w.body[:0], limit)
		return w.body, cut, err
	}
	err := d.Do(req, w.resp, timeout)
	b := w.resp.Body()
	cut := len(b) > limit
	w.body = append(w.body[:0], b[:min(len(b), limit)]...)
	return w.body, cut, err
}
