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
	steps   [][]stepAcc
	flows   []flowAcc
	lag     *histogram.Histogram
	started int64
	dropped int64
}

type stepAcc struct {
	StepStats
}

type flowAcc struct {
	iterations int64
	duration   *histogram.Histogram
}

func newAcc(p *Plan) *acc {
	a := &acc{lag: histogram.New(), flows: make([]flowAcc, len(p.Flows)), steps: make([][]stepAcc, len(p.Flows))}
	for fi, f := range p.Flows {
		a.flows[fi].duration = histogram.New()
		a.steps[fi] = make([]stepAcc, len(f.Steps))
		for si := range f.Steps {
			s := &a.steps[fi][si]
			s.Duration = histogram.New()
			s.ServiceTime = histogram.New()
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
			*s = StepStats{Duration: hs[0], ServiceTime: hs[1], ByClass: s.ByClass}
		}
		a.flows[fi].iterations = 0
		a.flows[fi].duration.Reset()
	}
	a.lag.Reset()
	a.started, a.dropped = 0, 0
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
}

func (sh *shard) record(s *sample) {
	sh.mu.Lock()
	st := &sh.cur.steps[s.flow][s.step].StepStats
	d := s.end - s.intended
	st.Duration.Record(d)
	st.ServiceTime.Record(s.end - s.sent)
	class := StatusClass(s.status)
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
	sh.mu.Unlock()
}

func (sh *shard) recordStart(lag time.Duration) {
	sh.mu.Lock()
	sh.cur.lag.Record(lag)
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

func (sh *shard) recordDrop() {
	sh.mu.Lock()
	sh.cur.dropped++
	sh.mu.Unlock()
}

// recorder owns the shards and the running totals; the collector goroutine
// is its only reader.
type recorder struct {
	plan   *Plan
	shards []*shard
	// samples holds the first message of each failure kind; set once.
	samples [NumKinds]atomic.Pointer[string]
	// total is owned by the collector goroutine.
	total *Period
}

func newRecorder(p *Plan, nShards int) *recorder {
	r := &recorder{plan: p, shards: make([]*shard, nShards), total: newPeriod(p)}
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
// (nil means empty; they are allocated on first merge).
func newPeriod(p *Plan) *Period {
	per := &Period{
		Steps:      make([][]StepStats, len(p.Flows)),
		Flows:      make([]FlowStats, len(p.Flows)),
		FlowTotals: make([]StepStats, len(p.Flows)),
		All:        &StepStats{},
	}
	for fi, f := range p.Flows {
		per.Steps[fi] = make([]StepStats, len(f.Steps))
	}
	return per
}

// collect swaps every shard and merges what they held into a new Period
// covering [from, to).
func (r *recorder) collect(from, to time.Duration) *Period {
	per := newPeriod(r.plan)
	per.Start, per.End = from, to
	for _, sh := range r.shards {
		sh.mu.Lock()
		a := sh.cur
		sh.cur = sh.spare
		sh.mu.Unlock()
		mergeAcc(per, a)
		a.reset()
		sh.spare = a
	}
	per.SumSteps()
	return per
}

// SumSteps (re)computes FlowTotals and All from Steps. The collector calls
// it on every interval; code that builds a Period by hand (tests, merges of
// remote data) calls it before publishing the Period.
func (p *Period) SumSteps() {
	p.FlowTotals = make([]StepStats, len(p.Steps))
	p.All = &StepStats{}
	for fi := range p.Steps {
		for si := range p.Steps[fi] {
			addStep(&p.FlowTotals[fi], &p.Steps[fi][si])
		}
		addStep(p.All, &p.FlowTotals[fi])
	}
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
	per.Started += a.started
	per.Dropped += a.dropped
}

// addStep adds src into dst, allocating dst's histograms when src has data.
func addStep(dst, src *StepStats) {
	dst.Duration = mergeInto(dst.Duration, src.Duration)
	dst.ServiceTime = mergeInto(dst.ServiceTime, src.ServiceTime)
	for c := range dst.ByClass {
		dst.ByClass[c] = mergeInto(dst.ByClass[c], src.ByClass[c])
	}
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
}

// mergeInto merges src into dst and returns dst, allocating it when nil and
// src has data. An empty src leaves dst (possibly nil) alone.
func mergeInto(dst, src *histogram.Histogram) *histogram.Histogram {
	if src == nil || src.Count() == 0 {
		return dst
	}
	if dst == nil {
		return src.Clone()
	}
	dst.Merge(src)
	return dst
}

// accumulate returns a new Period equal to the running total plus per; the
// previous total stays valid for observers that kept it.
func (r *recorder) accumulate(per *Period) *Period {
	t := clonePeriod(r.total)
	t.End = per.End
	for fi := range per.Steps {
		for si := range per.Steps[fi] {
			addStep(&t.Steps[fi][si], &per.Steps[fi][si])
		}
		addStep(&t.FlowTotals[fi], &per.FlowTotals[fi])
		t.Flows[fi].Iterations += per.Flows[fi].Iterations
		t.Flows[fi].Duration = mergeInto(t.Flows[fi].Duration, per.Flows[fi].Duration)
	}
	addStep(t.All, per.All)
	t.Lag = mergeInto(t.Lag, per.Lag)
	t.Planned += per.Planned
	t.Started += per.Started
	t.Dropped += per.Dropped
	t.BytesSent += per.BytesSent
	t.BytesReceived += per.BytesReceived
	r.total = t
	return t
}

// clonePeriod deep-copies p's histograms so the copy can be written.
func clonePeriod(p *Period) *Period {
	c := *p
	c.Steps = make([][]StepStats, len(p.Steps))
	c.FlowTotals = make([]StepStats, len(p.FlowTotals))
	for fi := range p.Steps {
		c.Steps[fi] = make([]StepStats, len(p.Steps[fi]))
		for si := range p.Steps[fi] {
			c.Steps[fi][si] = cloneStep(&p.Steps[fi][si])
		}
		c.FlowTotals[fi] = cloneStep(&p.FlowTotals[fi])
	}
	all := cloneStep(p.All)
	c.All = &all
	c.Flows = make([]FlowStats, len(p.Flows))
	for fi, f := range p.Flows {
		f.Duration = cloneHist(f.Duration)
		c.Flows[fi] = f
	}
	c.Lag = cloneHist(p.Lag)
	return &c
}

// cloneStep copies s with its own histograms.
func cloneStep(s *StepStats) StepStats {
	c := *s
	c.Duration = cloneHist(s.Duration)
	c.ServiceTime = cloneHist(s.ServiceTime)
	for cl := range c.ByClass {
		c.ByClass[cl] = cloneHist(s.ByClass[cl])
	}
	return c
}

func cloneHist(h *histogram.Histogram) *histogram.Histogram {
	if h == nil {
		return nil
	}
	return h.Clone()
}
