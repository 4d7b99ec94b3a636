package engine

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/loadgate/loadgate/histogram"
)

// acc accumulates measurements between two collections. Its histograms are
// allocated once per shard and reset after each collection, so recording
// never allocates.
type acc struct {
	steps     [][]stepAcc
	flows     []flowAcc
	lag       *histogram.Histogram
	slotWait  *histogram.Histogram
	started   int64
	dropped   int64
	cancelled int64
}

type stepAcc struct {
	StepStats
}

type flowAcc struct {
	iterations int64
	duration   *histogram.Histogram
}

func newAcc(p *Plan) *acc {
	a := &acc{lag: histogram.New(), slotWait: histogram.New(), flows: make([]flowAcc, len(p.Flows)), steps: make([][]stepAcc, len(p.Flows))}
	for fi, f := range p.Flows {
		a.flows[fi].duration = histogram.New()
		a.steps[fi] = make([]stepAcc, len(f.Steps))
		for si := range f.Steps {
			s := &a.steps[fi][si]
			s.Duration = histogram.New()
			s.ServiceTime = histogram.New()
			s.Checks = make([]CheckCount, len(f.Steps[si].Checks))
			if f.Steps[si].Protocol == ProtoWS {
				s.WS = WSStats{Connect: histogram.New(), Msg: histogram.New(), MsgService: histogram.New()}
			}
			if p.StatusTrends {
				for c := range s.ByClass {
					s.ByClass[c] = histogram.New()
				}
			}
		}
	}
	return a
}

// reset empties a, keeping its histograms.
func (a *acc) reset() {
	for fi := range a.steps {
		for si := range a.steps[fi] {
			s := &a.steps[fi][si].StepStats
			hs := [2 + NumStatusClasses]*histogram.Histogram{s.Duration, s.ServiceTime}
			copy(hs[2:], s.ByClass[:])
			for _, h := range hs {
				if h != nil {
					h.Reset()
				}
			}
			clear(s.Checks)
			ws := s.WS.reset()
			*s = StepStats{Duration: hs[0], ServiceTime: hs[1], ByClass: s.ByClass, Checks: s.Checks, WS: ws}
		}
		a.flows[fi].iterations = 0
		a.flows[fi].duration.Reset()
	}
	a.lag.Reset()
	a.slotWait.Reset()
	a.started, a.dropped, a.cancelled = 0, 0, 0
}

// shard is one mutex-guarded accumulator. Workers are spread over a few
// shards so that they rarely contend; the collector swaps each shard's
// accumulator for a spare once per interval, holding the lock only for the
// swap.
type shard struct {
	mu sync.Mutex
	// guarded by mu
	cur *acc
	// spare is only touched by the collector.
	spare *acc
}

// sample is one request's outcome, passed by value to record.
type sample struct {
	flow, step     int
	intended, sent time.Duration
	end            time.Duration
	status         int
	kind           Kind
	failed         bool
	// checks judged on the response, and the set of those that held
	checks     int
	checksHeld uint64
	// ws is a WebSocket session's own figures (ws.go); nil for others.
	ws *wsSample
	// msgs are the response messages of a gRPC call (grpc.go).
	msgs int64
}

func (sh *shard) record(s *sample) {
	sh.mu.Lock()
	st := &sh.cur.steps[s.flow][s.step].StepStats
	d := s.end - s.intended
	st.Duration.Record(d)
	st.ServiceTime.Record(s.end - s.sent)
	class := statusClass(s.status)
	if h := st.ByClass[class]; h != nil {
		h.Record(d)
	}
	st.Requests++
	st.Status[class]++
	if s.failed {
		st.Failed++
		st.FailedByClass[class]++
	}
	st.Errors[s.kind]++
	for i := 0; i < s.checks; i++ {
		held := int64(s.checksHeld >> i & 1)
		st.Checks[i].Total++
		st.Checks[i].Passed += held
		st.ChecksTotal++
		st.ChecksPassed += held
	}
	if s.ws != nil {
		st.WS.record(s.ws)
	}
	st.GRPCMsgs += s.msgs
	sh.mu.Unlock()
}

// recordStart counts a started iteration: lag is the generator's own
// lateness, slotWait the time the arrival waited for a free slot before
// that (0 when it did not wait).
func (sh *shard) recordStart(lag, slotWait time.Duration) {
	sh.mu.Lock()
	sh.cur.lag.Record(lag)
	sh.cur.slotWait.Record(slotWait)
	sh.cur.started++
	sh.mu.Unlock()
}

func (sh *shard) recordIteration(flow int, d time.Duration) {
	sh.mu.Lock()
	f := &sh.cur.flows[flow]
	f.iterations++
	f.duration.Record(d)
	sh.mu.Unlock()
}

// recordNoSlot counts an arrival of flow that found no free slot: in
// dropped_iterations, and as a failed request of the flow's first step
// (KindNoFreeSlot), whose checks count as not held.
func (sh *shard) recordNoSlot(flow int) {
	sh.mu.Lock()
	sh.cur.dropped++
	sh.cur.steps[flow][0].addNoSlot(1)
	sh.mu.Unlock()
}

// recordCancel counts a request cut off by the hard stop.
func (sh *shard) recordCancel() {
	sh.mu.Lock()
	sh.cur.cancelled++
	sh.mu.Unlock()
}

// addNoSlot counts n arrivals that found no free slot as failed requests
// of this step, without a response (status class 0) or a duration.
func (s *StepStats) addNoSlot(n int64) {
	s.Requests += n
	s.Status[0] += n
	s.Failed += n
	s.FailedByClass[0] += n
	s.Errors[KindNoFreeSlot] += n
	for i := range s.Checks {
		s.Checks[i].Total += n
		s.ChecksTotal += n
	}
}

// recorder owns the shards and the running totals; the collector goroutine
// is its only reader.
//
// The collector keeps two writable Periods of its own, the interval being
// built and the running total, and publishes frozen copies of both (compact,
// a few KB per histogram), so that observers may keep snapshots cheaply and
// nothing publishes a histogram that is written later.
type recorder struct {
	plan   *Plan
	shards []*shard
	// samples holds the first message of each failure kind; set once.
	samples [NumKinds]atomic.Pointer[string]
	// iv and total are owned by the collector goroutine and never published;
	// their FlowTotals and All are left empty (see frozen).
	iv, total *Period
}

func newRecorder(p *Plan, nShards int) *recorder {
	r := &recorder{plan: p, shards: make([]*shard, nShards), iv: newPeriod(p), total: newPeriod(p)}
	for i := range r.shards {
		r.shards[i] = &shard{cur: newAcc(p), spare: newAcc(p)}
	}
	return r
}

// noteError keeps the first message of each failure kind. It builds the
// string only the first time a kind is seen.
func (r *recorder) noteError(k Kind, err error) {
	if err == nil || r.samples[k].Load() != nil {
		return
	}
	msg := err.Error()
	r.samples[k].CompareAndSwap(nil, &msg)
}

// newPeriod returns an empty Period shaped like p, with nil histograms
// (nil means empty; writable ones are allocated on first merge).
func newPeriod(p *Plan) *Period {
	per := &Period{Steps: make([][]StepStats, len(p.Flows)), Flows: make([]FlowStats, len(p.Flows))}
	for fi, f := range p.Flows {
		per.Steps[fi] = make([]StepStats, len(f.Steps))
	}
	return per
}

// collect swaps every shard, adds what they held to the running total, and
// returns frozen copies of the interval [from, to) and of the total. planned
// and the byte counts are the collector's figures for the interval.
func (r *recorder) collect(from, to time.Duration, fill func(*Period)) (iv, total *Period) {
	r.iv.reset()
	r.iv.Start, r.iv.End = from, to
	for _, sh := range r.shards {
		sh.mu.Lock()
		a := sh.cur
		sh.cur = sh.spare
		sh.mu.Unlock()
		mergeAcc(r.iv, a)
		a.reset()
		sh.spare = a
	}
	fill(r.iv)
	r.total.add(r.iv)
	r.total.End = to
	iv, total = r.iv.frozen(), r.total.frozen()
	iv.SumSteps()
	total.SumSteps()
	return iv, total
}

func mergeAcc(per *Period, a *acc) {
	for fi := range a.steps {
		for si := range a.steps[fi] {
			addStep(&per.Steps[fi][si], &a.steps[fi][si].StepStats)
		}
		f := &per.Flows[fi]
		f.Iterations += a.flows[fi].iterations
		f.Duration = mergeInto(f.Duration, a.flows[fi].duration)
	}
	per.Lag = mergeInto(per.Lag, a.lag)
	per.SlotWait = mergeInto(per.SlotWait, a.slotWait)
	per.Started += a.started
	per.Dropped += a.dropped
	per.Cancelled += a.cancelled
}

// SumSteps (re)computes FlowTotals and All from Steps. The collector does
// this for every published Period; code that builds a Period by hand (tests,
// merges of remote data) calls it before publishing the Period. The totals
// are frozen; a total of a single step shares that step's histograms.
func (p *Period) SumSteps() {
	p.FlowTotals = make([]StepStats, len(p.Steps))
	for fi := range p.Steps {
		p.FlowTotals[fi] = sumStats(p.Steps[fi])
	}
	all := sumStats(p.FlowTotals)
	p.All = &all
}

// sumStats adds up ss: counters by addition, each histogram field through
// sumHists.
func sumStats(ss []StepStats) StepStats {
	var out StepStats
	hs := make([]*histogram.Histogram, len(ss))
	field := func(get func(*StepStats) *histogram.Histogram) *histogram.Histogram {
		for i := range ss {
			hs[i] = get(&ss[i])
		}
		return sumHists(hs)
	}
	out.Duration = field(func(s *StepStats) *histogram.Histogram { return s.Duration })
	out.ServiceTime = field(func(s *StepStats) *histogram.Histogram { return s.ServiceTime })
	out.WS.Connect = field(func(s *StepStats) *histogram.Histogram { return s.WS.Connect })
	out.WS.Msg = field(func(s *StepStats) *histogram.Histogram { return s.WS.Msg })
	out.WS.MsgService = field(func(s *StepStats) *histogram.Histogram { return s.WS.MsgService })
	for c := range out.ByClass {
		out.ByClass[c] = field(func(s *StepStats) *histogram.Histogram { return s.ByClass[c] })
	}
	for i := range ss {
		addCounters(&out, &ss[i])
	}
	return out
}

// sumHists returns the merge of hs as a frozen histogram: nil when all are
// empty, the only non-empty one itself, else a sparse sum (no dense counts).
func sumHists(hs []*histogram.Histogram) *histogram.Histogram {
	var one *histogram.Histogram
	n := 0
	for _, h := range hs {
		if h != nil && h.Count() > 0 {
			one = h
			n++
		}
	}
	if n <= 1 {
		return one
	}
	sum := histogram.NewSparse()
	for _, h := range hs {
		sum.AddSparse(h)
	}
	return sum
}

// add adds every measurement of o into p (whose histograms are writable).
func (p *Period) add(o *Period) { p.addWith(o, mergeInto) }

// merger adds src's values into dst and returns dst (allocated when nil):
// mergeInto for writable sums, addSparse for sparse ones (sum.go).
type merger func(dst, src *histogram.Histogram) *histogram.Histogram

// addWith adds every measurement of o into p, histograms through merge.
func (p *Period) addWith(o *Period, merge merger) {
	for fi := range o.Steps {
		for si := range o.Steps[fi] {
			addStepWith(&p.Steps[fi][si], &o.Steps[fi][si], merge)
		}
		p.Flows[fi].Iterations += o.Flows[fi].Iterations
		p.Flows[fi].Duration = merge(p.Flows[fi].Duration, o.Flows[fi].Duration)
	}
	p.Lag = merge(p.Lag, o.Lag)
	p.SlotWait = merge(p.SlotWait, o.SlotWait)
	p.Planned += o.Planned
	p.Started += o.Started
	p.Dropped += o.Dropped
	p.Cancelled += o.Cancelled
	p.BytesSent += o.BytesSent
	p.BytesReceived += o.BytesReceived
}

// reset empties a writable Period, keeping its histograms' memory.
func (p *Period) reset() {
	for fi := range p.Steps {
		for si := range p.Steps[fi] {
			p.Steps[fi][si] = resetStep(p.Steps[fi][si])
		}
		p.Flows[fi] = FlowStats{Duration: resetHist(p.Flows[fi].Duration)}
	}
	*p = Period{Steps: p.Steps, Flows: p.Flows, Lag: resetHist(p.Lag), SlotWait: resetHist(p.SlotWait)}
}

// resetStep returns s emptied, with its (writable) histograms reset.
func resetStep(s StepStats) StepStats {
	out := StepStats{Duration: resetHist(s.Duration), ServiceTime: resetHist(s.ServiceTime), WS: s.WS.reset()}
	for c := range s.ByClass {
		out.ByClass[c] = resetHist(s.ByClass[c])
	}
	return out
}

func resetHist(h *histogram.Histogram) *histogram.Histogram {
	if h != nil {
		h.Reset()
	}
	return h
}

// frozen returns a copy of p's steps, flows and counters for publication:
// every non-empty histogram frozen, empty ones nil. The caller fills
// FlowTotals and All with SumSteps.
func (p *Period) frozen() *Period { return p.copyWith(freeze) }

// copyWith returns a copy of p's steps, flows and counters whose
// histograms are conv of p's, for publication while p goes on being
// written.
func (p *Period) copyWith(conv func(*histogram.Histogram) *histogram.Histogram) *Period {
	c := *p
	c.Steps = make([][]StepStats, len(p.Steps))
	for fi := range p.Steps {
		c.Steps[fi] = make([]StepStats, len(p.Steps[fi]))
		for si := range p.Steps[fi] {
			st := p.Steps[fi][si]
			st.Checks = append([]CheckCount(nil), st.Checks...) // p's are written again
			st.Duration, st.ServiceTime = conv(st.Duration), conv(st.ServiceTime)
			st.WS.Connect, st.WS.Msg, st.WS.MsgService = conv(st.WS.Connect), conv(st.WS.Msg), conv(st.WS.MsgService)
			for cl := range st.ByClass {
				st.ByClass[cl] = conv(st.ByClass[cl])
			}
			c.Steps[fi][si] = st
		}
	}
	c.Flows = make([]FlowStats, len(p.Flows))
	for fi, f := range p.Flows {
		f.Duration = conv(f.Duration)
		c.Flows[fi] = f
	}
	c.Lag = conv(p.Lag)
	c.SlotWait = conv(p.SlotWait)
	return &c
}

func freeze(h *histogram.Histogram) *histogram.Histogram {
	if h == nil || h.Count() == 0 {
		return nil
	}
	return h.Freeze()
}

// addStep adds src into dst, allocating dst's histograms when src has data.
func addStep(dst, src *StepStats) { addStepWith(dst, src, mergeInto) }

func addStepWith(dst, src *StepStats, merge merger) {
	dst.Duration = merge(dst.Duration, src.Duration)
	dst.ServiceTime = merge(dst.ServiceTime, src.ServiceTime)
	dst.WS.Connect = merge(dst.WS.Connect, src.WS.Connect)
	dst.WS.Msg = merge(dst.WS.Msg, src.WS.Msg)
	dst.WS.MsgService = merge(dst.WS.MsgService, src.WS.MsgService)
	for c := range dst.ByClass {
		dst.ByClass[c] = merge(dst.ByClass[c], src.ByClass[c])
	}
	addCounters(dst, src)
	addChecks(dst, src)
}

// addChecks adds the per-check counts of src, a measurement of the same
// step, into dst.
func addChecks(dst, src *StepStats) {
	if len(src.Checks) == 0 {
		return
	}
	if len(dst.Checks) < len(src.Checks) {
		dst.Checks = append(dst.Checks, make([]CheckCount, len(src.Checks)-len(dst.Checks))...)
	}
	for i, c := range src.Checks {
		dst.Checks[i].Passed += c.Passed
		dst.Checks[i].Total += c.Total
	}
}

// addCounters adds src's counters (not its histograms) into dst.
func addCounters(dst, src *StepStats) {
	dst.Requests += src.Requests
	dst.Failed += src.Failed
	for c := range dst.Status {
		dst.Status[c] += src.Status[c]
		dst.FailedByClass[c] += src.FailedByClass[c]
	}
	for k := range dst.Errors {
		dst.Errors[k] += src.Errors[k]
	}
	dst.ChecksPassed += src.ChecksPassed
	dst.ChecksTotal += src.ChecksTotal
	dst.GRPCMsgs += src.GRPCMsgs
	dst.WS.MsgsReceived += src.WS.MsgsReceived
	dst.WS.MsgsSent += src.WS.MsgsSent
	dst.WS.Expected += src.WS.Expected
	dst.WS.Missed += src.WS.Missed
}

// record adds one WebSocket session's figures (its histograms are the
// accumulator's, allocated for WebSocket steps).
func (s *WSStats) record(ws *wsSample) {
	if ws.connected {
		s.Connect.Record(ws.connect)
	}
	for _, m := range ws.msgs {
		s.Msg.Record(m.d)
		s.MsgService.Record(m.service)
	}
	s.MsgsReceived += ws.received
	s.MsgsSent += ws.sent
	s.Expected += ws.expected
	s.Missed += ws.missed
}

// reset returns s emptied, its (writable) histograms reset.
func (s *WSStats) reset() WSStats {
	return WSStats{Connect: resetHist(s.Connect), Msg: resetHist(s.Msg), MsgService: resetHist(s.MsgService)}
}

// mergeInto merges src into dst and returns dst, allocating a writable dst
// when nil and src has data. An empty src leaves dst (possibly nil) alone.
func mergeInto(dst, src *histogram.Histogram) *histogram.Histogram {
	if src == nil || src.Count() == 0 {
		return dst
	}
	if dst == nil {
		return src.Thaw()
	}
	dst.Merge(src)
	return dst
}
