package engine

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/loadgate/loadgate/histogram"
)

// MetricType is the kind of a metric, which decides the aggregations a
// threshold may use on it.
type MetricType uint8

// Metric types, as k6 names them.
const (
	Trend   MetricType = iota // a distribution of durations
	Rate                      // a share of true events
	Counter                   // a sum
)

func (t MetricType) String() string {
	switch t {
	case Rate:
		return "rate"
	case Counter:
		return "counter"
	}
	return "trend"
}

// Metric describes one built-in metric.
type Metric struct {
	Name string
	Type MetricType
	// Tags are the tag keys the metric can be selected by.
	Tags []string
	// Bytes marks counters of bytes rather than events.
	Bytes bool
	// PerProto marks a metric of the steps of one protocol, Proto: the
	// http_ metrics read HTTP steps only, the grpc_ ones gRPC steps only.
	PerProto bool
	Proto    Protocol
}

var (
	reqTags  = []string{"flow", "step", "method", "status"}
	flowTags = []string{"flow"}
	stepTags = []string{"flow", "step"}
)

// Metrics is the catalogue of docs/metrics.md, in report order.
var Metrics = []Metric{
	{Name: "http_req_duration", Type: Trend, Tags: reqTags, PerProto: true},
	{Name: "http_req_service_time", Type: Trend, Tags: reqTags[:3], PerProto: true},
	{Name: "http_reqs", Type: Counter, Tags: reqTags, PerProto: true},
	{Name: "http_req_failed", Type: Rate, Tags: reqTags, PerProto: true},
	{Name: "grpc_req_duration", Type: Trend, Tags: stepTags, PerProto: true, Proto: ProtoGRPC},
	{Name: "grpc_req_service_time", Type: Trend, Tags: stepTags, PerProto: true, Proto: ProtoGRPC},
	{Name: "grpc_reqs", Type: Counter, Tags: stepTags, PerProto: true, Proto: ProtoGRPC},
	{Name: "grpc_req_failed", Type: Rate, Tags: stepTags, PerProto: true, Proto: ProtoGRPC},
	{Name: "grpc_msgs_received", Type: Counter, Tags: stepTags, PerProto: true, Proto: ProtoGRPC},
	{Name: "ws_connect_duration", Type: Trend, Tags: stepTags, PerProto: true, Proto: ProtoWS},
	{Name: "ws_msg_duration", Type: Trend, Tags: stepTags, PerProto: true, Proto: ProtoWS},
	{Name: "ws_msg_service_time", Type: Trend, Tags: stepTags, PerProto: true, Proto: ProtoWS},
	{Name: "ws_msg_failed", Type: Rate, Tags: stepTags, PerProto: true, Proto: ProtoWS},
	{Name: "ws_msgs_received", Type: Counter, Tags: stepTags, PerProto: true, Proto: ProtoWS},
	{Name: "ws_msgs_sent", Type: Counter, Tags: stepTags, PerProto: true, Proto: ProtoWS},
	{Name: "ws_sessions", Type: Counter, Tags: stepTags, PerProto: true, Proto: ProtoWS},
	{Name: "ws_session_duration", Type: Trend, Tags: stepTags, PerProto: true, Proto: ProtoWS},
	{Name: "ws_session_failed", Type: Rate, Tags: stepTags, PerProto: true, Proto: ProtoWS},
	{Name: "iterations", Type: Counter, Tags: flowTags},
	{Name: "iteration_duration", Type: Trend, Tags: flowTags},
	{Name: "dropped_iterations", Type: Counter},
	{Name: "schedule_lag", Type: Trend},
	{Name: "slot_wait", Type: Trend},
	{Name: "checks", Type: Rate, Tags: []string{"flow", "step", "check"}},
	{Name: "data_sent", Type: Counter, Bytes: true},
	{Name: "data_received", Type: Counter, Bytes: true},
}

// LookupMetric returns the metric named name.
func LookupMetric(name string) (Metric, bool) {
	for _, m := range Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// Tag is one key:value of a selector.
type Tag struct {
	Key, Value string
}

// stepRef addresses Plan.Flows[flow].Steps[step].
// stepRef addresses Plan.Flows[flow].Steps[step], and with a check tag
// the index of the check in the step (else -1).
type stepRef struct{ flow, step, check int }

// Selection is a metric restricted by tags, resolved against a plan once so
// that reading it from a Period does no string work.
type Selection struct {
	Metric Metric
	Tags   []Tag // sorted by key
	steps  []stepRef
	flows  []int
	class  int // status class of a status tag, or -1
	cover  coverage
}

// coverage says which pre-merged totals of a Period a selection can read.
type coverage uint8

const (
	coverSteps coverage = iota // individual steps
	coverFlows                 // whole flows: Period.FlowTotals
	coverAll                   // every step: Period.All
)

// Key is the selection's name in reports: metric{k:v,k:v}.
func (s *Selection) Key() string {
	if len(s.Tags) == 0 {
		return s.Metric.Name
	}
	var b strings.Builder
	b.WriteString(s.Metric.Name)
	b.WriteByte('{')
	for i, t := range s.Tags {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(t.Key)
		b.WriteByte(':')
		b.WriteString(t.Value)
	}
	b.WriteByte('}')
	return b.String()
}

// Select resolves metric{tags} against p. A tag value that matches nothing in
// the plan is an error: a threshold on it could only ever report "no data".
func Select(p *Plan, metric string, tags []Tag) (*Selection, error) {
	m, ok := LookupMetric(metric)
	if !ok {
		return nil, fmt.Errorf("unknown metric %q", metric)
	}
	s := &Selection{Metric: m, Tags: append([]Tag(nil), tags...), class: -1}
	sort.Slice(s.Tags, func(i, j int) bool { return s.Tags[i].Key < s.Tags[j].Key })
	var flow, step, method, check string
	for _, t := range s.Tags {
		if !contains(m.Tags, t.Key) {
			if len(m.Tags) == 0 {
				return nil, fmt.Errorf("metric %s has no tags", m.Name)
			}
			return nil, fmt.Errorf("metric %s has no tag %q (it has %s)", m.Name, t.Key, strings.Join(m.Tags, ", "))
		}
		switch t.Key {
		case "flow":
			flow = t.Value
		case "step":
			step = t.Value
		case "method":
			method = strings.ToUpper(t.Value)
		case "check":
			check = t.Value
		case "status":
			c := statusClassOf(t.Value)
			if c < 0 {
				return nil, fmt.Errorf("status tag %q: want 1xx, 2xx, 3xx, 4xx, 5xx or none", t.Value)
			}
			s.class = c
		}
	}
	mixed := m.PerProto && !onlyProtocol(p, m.Proto)
	for fi, f := range p.Flows {
		if flow != "" && f.Name != flow {
			continue
		}
		s.flows = append(s.flows, fi)
		for si, st := range f.Steps {
			if m.PerProto && st.Protocol != m.Proto {
				continue
			}
			if (step == "" || st.Name == step) && (method == "" || st.Method == method) {
				ci := -1
				if check != "" {
					if ci = slices.Index(st.CheckNames(), check); ci < 0 {
						continue
					}
				}
				s.steps = append(s.steps, stepRef{fi, si, ci})
			}
		}
	}
	if step == "" && method == "" && check == "" && !mixed {
		s.cover = coverAll
		if flow != "" {
			s.cover = coverFlows
		}
	}
	switch {
	case flow != "" && len(s.flows) == 0:
		return nil, fmt.Errorf("no flow named %q", flow)
	case (step != "" || method != "" || check != "") && len(s.steps) == 0:
		return nil, fmt.Errorf("no step matches %s", s.Key())
	}
	return s, nil
}

// SelectAnyProtocol is Select of a request metric of HTTP (http_req_duration,
// http_req_service_time, http_reqs, http_req_failed) over the steps of
// every protocol: what the progress line and the timeline show, whatever a
// plan speaks.
func SelectAnyProtocol(p *Plan, metric string) (*Selection, error) {
	m, ok := LookupMetric(metric)
	if !ok || !m.PerProto || m.Proto != ProtoHTTP {
		return nil, fmt.Errorf("engine: %q is not an HTTP request metric", metric)
	}
	s := &Selection{Metric: m, class: -1, cover: coverAll}
	for fi := range p.Flows {
		s.flows = append(s.flows, fi)
		for si := range p.Flows[fi].Steps {
			s.steps = append(s.steps, stepRef{fi, si, -1})
		}
	}
	return s, nil
}

// onlyProtocol reports whether every step of p speaks proto.
func onlyProtocol(p *Plan, proto Protocol) bool {
	for _, f := range p.Flows {
		for _, st := range f.Steps {
			if st.Protocol != proto {
				return false
			}
		}
	}
	return true
}

// HasSteps reports whether s reads any step: false for a metric of a
// protocol the plan does not speak (grpc_reqs of an HTTP plan), whose
// value is always empty; a report leaves it out and a threshold on it is
// an error at load.
func (s *Selection) HasSteps() bool {
	return !s.Metric.PerProto || len(s.steps) > 0
}

// HasChecks reports whether a step that s selects has checks: only the
// assertions under check: count in the checks metric, so a checks
// selection without one never has data. Select allows it (a report lists
// what a run measured); a threshold on it is an error at load
// (docs/thresholds.md, Selectors).
func (s *Selection) HasChecks(p *Plan) bool {
	for _, r := range s.steps {
		if len(p.Flows[r.flow].Steps[r.step].Checks) > 0 {
			return true
		}
	}
	return false
}

// NeedsStatusTrends reports whether reading s needs Plan.StatusTrends.
func (s *Selection) NeedsStatusTrends() bool {
	return s.Metric.Type == Trend && s.class >= 0
}

func statusClassOf(v string) int {
	if v == "none" {
		return 0
	}
	if len(v) == 3 && v[0] >= '1' && v[0] <= '5' && v[1:] == "xx" {
		return int(v[0] - '0')
	}
	return -1
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Value is a metric read from a Period.
type Value struct {
	Type MetricType
	// Hist is the distribution of a trend. It may be shared with the Period:
	// never write it.
	Hist *histogram.Histogram
	// Hits of Total events were true (rate).
	Hits, Total int64
	// Count is a counter's sum (events or bytes).
	Count int64
}

// Empty reports whether the value has no samples.
func (v Value) Empty() bool {
	switch v.Type {
	case Trend:
		return v.Hist == nil || v.Hist.Count() == 0
	case Rate:
		return v.Total == 0
	}
	return false
}

// Read computes the selection's value over p.
func (s *Selection) Read(p *Period) Value {
	v := Value{Type: s.Metric.Type}
	switch s.Metric.Name {
	case "schedule_lag":
		v.Hist = p.Lag
	case "slot_wait":
		v.Hist = p.SlotWait
	case "dropped_iterations":
		v.Count = p.Dropped
	case "data_sent":
		v.Count = p.BytesSent
	case "data_received":
		v.Count = p.BytesReceived
	case "iterations", "iteration_duration":
		var hs []*histogram.Histogram
		for _, fi := range s.flows {
			if fi < len(p.Flows) {
				v.Count += p.Flows[fi].Iterations
				hs = append(hs, p.Flows[fi].Duration)
			}
		}
		if v.Type == Trend {
			v.Hist = mergeAll(hs)
		}
	case "checks":
		if s.cover == coverSteps && len(s.steps) > 0 && s.steps[0].check >= 0 {
			s.readChecks(p, &v)
			break
		}
		s.readSteps(p, &v)
	default:
		s.readSteps(p, &v)
	}
	return v
}

// sources returns the step statistics the selection sums: the period's
// pre-merged totals when the selection covers all steps or whole flows (so
// that reading costs no histogram merge), else the individual steps.
func (s *Selection) sources(p *Period) []*StepStats {
	switch {
	case s.cover == coverAll && p.All != nil:
		return []*StepStats{p.All}
	case s.cover == coverFlows && len(p.FlowTotals) == len(p.Steps):
		out := make([]*StepStats, 0, len(s.flows))
		for _, fi := range s.flows {
			out = append(out, &p.FlowTotals[fi])
		}
		return out
	}
	out := make([]*StepStats, 0, len(s.steps))
	for _, r := range s.steps {
		if r.flow < len(p.Steps) && r.step < len(p.Steps[r.flow]) {
			out = append(out, &p.Steps[r.flow][r.step])
		}
	}
	return out
}

// readChecks reads a check-tagged checks selection: one check per step.
func (s *Selection) readChecks(p *Period, v *Value) {
	for _, r := range s.steps {
		if r.flow < len(p.Steps) && r.step < len(p.Steps[r.flow]) && r.check < len(p.Steps[r.flow][r.step].Checks) {
			c := p.Steps[r.flow][r.step].Checks[r.check]
			v.Hits += c.Passed
			v.Total += c.Total
		}
	}
}

func (s *Selection) readSteps(p *Period, v *Value) {
	var hs []*histogram.Histogram
	for _, st := range s.sources(p) {
		switch s.Metric.Name {
		case "http_req_duration", "grpc_req_duration":
			if s.class >= 0 {
				hs = append(hs, st.ByClass[s.class])
			} else {
				hs = append(hs, st.Duration)
			}
		case "http_req_service_time", "grpc_req_service_time":
			hs = append(hs, st.ServiceTime)
		case "http_reqs", "grpc_reqs":
			v.Count += s.requests(st)
		case "http_req_failed", "grpc_req_failed":
			if s.class >= 0 {
				v.Total += st.Status[s.class]
				v.Hits += st.FailedByClass[s.class]
			} else {
				v.Hits += st.Failed
				v.Total += st.Requests
			}
		case "checks":
			v.Hits += st.ChecksPassed
			v.Total += st.ChecksTotal
		case "ws_connect_duration":
			hs = append(hs, st.WS.Connect)
		case "ws_msg_duration":
			hs = append(hs, st.WS.Msg)
		case "ws_msg_service_time":
			hs = append(hs, st.WS.MsgService)
		case "ws_msg_failed":
			v.Hits += st.WS.Missed
			v.Total += st.WS.Expected
		case "grpc_msgs_received":
			v.Count += st.GRPCMsgs
		case "ws_msgs_received":
			v.Count += st.WS.MsgsReceived
		case "ws_msgs_sent":
			v.Count += st.WS.MsgsSent
		case "ws_sessions":
			v.Count += st.Requests
		case "ws_session_duration":
			hs = append(hs, st.Duration)
		case "ws_session_failed":
			v.Hits += st.Failed
			v.Total += st.Requests
		}
	}
	if v.Type == Trend {
		v.Hist = mergeAll(hs)
	}
}

func (s *Selection) requests(st *StepStats) int64 {
	if s.class >= 0 {
		return st.Status[s.class]
	}
	return st.Requests
}

// mergeAll returns the merge of hs; the only non-nil one itself when there
// is just one (so single-step selections cost nothing).
func mergeAll(hs []*histogram.Histogram) *histogram.Histogram {
	var nonNil []*histogram.Histogram
	for _, h := range hs {
		if h != nil {
			nonNil = append(nonNil, h)
		}
	}
	switch len(nonNil) {
	case 0:
		return nil
	case 1:
		return nonNil[0]
	}
	out := nonNil[0].Thaw()
	for _, h := range nonNil[1:] {
		out.Merge(h)
	}
	return out
}
