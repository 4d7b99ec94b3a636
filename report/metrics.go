package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/histogram"
	"github.com/loadgate/loadgate/slo"
	"github.com/loadgate/loadgate/stats"
)

// Metric types as reports name them (engine.MetricType.String).
const (
	TypeTrend   = "trend"
	TypeRate    = "rate"
	TypeCounter = "counter"
)

// Metric is one metric or sub-metric over the whole run. Which fields are
// meaningful depends on Type, and only those are written to JSON and read
// from it:
//   - trend: Unit ("ms"), Count, Min .. Max in ms, HDR;
//   - rate: Rate (Hits/Total, a share in [0,1]), Hits, Total;
//   - counter: Count, Rate (per second over the run), Unit ("B" for bytes).
type Metric struct {
	Type  string
	Unit  string
	Count int64
	// Aggregates of a trend, in ms rounded to the microsecond.
	Min, Avg, Med, P50, P90, P95, P99, P999, Max float64
	// HDR is the trend's histogram, base64 HdrHistogram V2, so that runs can
	// be merged and compared exactly; empty when there were no samples.
	HDR         string
	Rate        float64
	Hits, Total int64
	// CI95 are 95% confidence intervals, [lo, hi] with null for a side the
	// samples cannot bound (package stats): of each percentile of a trend
	// (keys p50, p90, p95, p99, p99.9), of the rate of a rate (key rate).
	// Absent in reports of versions before them and without samples.
	CI95 map[string][]*float64
}

// Histogram decodes the trend's HDR; an empty HDR gives an empty histogram.
func (m *Metric) Histogram() (*histogram.Histogram, error) {
	if m.HDR == "" {
		return histogram.New(), nil
	}
	return histogram.Decode(m.HDR)
}

type trendJSON struct {
	Type  string  `json:"type"`
	Unit  string  `json:"unit"`
	Count int64   `json:"count"`
	Min   float64 `json:"min"`
	Avg   float64 `json:"avg"`
	Med   float64 `json:"med"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99.9"`
	Max   float64 `json:"max"`
	HDR   string  `json:"hdr,omitempty"`
	// CI95 of p50, p90, p95, p99 and p99.9.
	CI95 map[string][]*float64 `json:"ci95,omitempty"`
}

type rateJSON struct {
	Type  string     `json:"type"`
	Rate  float64    `json:"rate"`
	Hits  int64      `json:"hits"`
	Total int64      `json:"total"`
	CI95  []*float64 `json:"ci95,omitempty"`
}

type counterJSON struct {
	Type  string  `json:"type"`
	Unit  string  `json:"unit,omitempty"`
	Count int64   `json:"count"`
	Rate  float64 `json:"rate"`
}

// anyJSON is the union of the three shapes, for decoding; ci95 is an
// object in a trend and a list in a rate.
type anyJSON struct {
	trendJSON
	Rate  float64         `json:"rate"`
	Hits  int64           `json:"hits"`
	Total int64           `json:"total"`
	CI95  json.RawMessage `json:"ci95"`
}

// MarshalJSON writes only the fields of m's type.
func (m Metric) MarshalJSON() ([]byte, error) {
	switch m.Type {
	case TypeTrend:
		return marshal(trendJSON{m.Type, m.Unit, m.Count, m.Min, m.Avg, m.Med, m.P50, m.P90, m.P95, m.P99, m.P999, m.Max, m.HDR, m.CI95})
	case TypeRate:
		return marshal(rateJSON{m.Type, m.Rate, m.Hits, m.Total, m.CI95[StatRate]})
	case TypeCounter:
		return marshal(counterJSON{m.Type, m.Unit, m.Count, m.Rate})
	}
	return nil, fmt.Errorf("report: metric type %q: want trend, rate or counter", m.Type)
}

// UnmarshalJSON reads any of the three shapes and rejects unknown types.
func (m *Metric) UnmarshalJSON(b []byte) error {
	var a anyJSON
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	t := a.trendJSON
	switch t.Type {
	case TypeTrend, TypeRate, TypeCounter:
	default:
		return fmt.Errorf("metric type %q: want trend, rate or counter", t.Type)
	}
	// Keep only the fields of the type, as MarshalJSON writes them: a
	// "rate" in a trend (a hand-edited file) would otherwise be kept in
	// memory and lost on the next write (FuzzReadJSON).
	switch t.Type {
	case TypeTrend:
		*m = Metric{Type: t.Type, Unit: t.Unit, Count: t.Count,
			Min: t.Min, Avg: t.Avg, Med: t.Med, P50: t.P50, P90: t.P90, P95: t.P95, P99: t.P99, P999: t.P999, Max: t.Max,
			HDR: t.HDR}
		if len(a.CI95) > 0 && string(a.CI95) != "null" {
			if err := json.Unmarshal(a.CI95, &m.CI95); err != nil {
				return fmt.Errorf("ci95: %w", err)
			}
		}
	case TypeRate:
		*m = Metric{Type: t.Type, Rate: a.Rate, Hits: a.Hits, Total: a.Total}
		if len(a.CI95) > 0 && string(a.CI95) != "null" {
			var ci []*float64
			if err := json.Unmarshal(a.CI95, &ci); err != nil {
				return fmt.Errorf("ci95: %w", err)
			}
			m.CI95 = map[string][]*float64{StatRate: ci}
		}
	case TypeCounter:
		*m = Metric{Type: t.Type, Unit: t.Unit, Count: t.Count, Rate: a.Rate}
	}
	return nil
}

// Metrics maps a selector key (metric{k:v,...}) to its metric.
type Metrics map[string]Metric

// Keys returns the keys in report order: metrics in the order of
// engine.Metrics (unknown names last), each followed by its sub-metrics:
// per flow, then per step (by step name, so that a step qualified by flow
// sits next to its namesakes), then any other selector.
func (ms Metrics) Keys() []string {
	keys := make([]string, 0, len(ms))
	for k := range ms {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := orderOf(keys[i]), orderOf(keys[j])
		if a != b {
			return a.less(b)
		}
		return keys[i] < keys[j]
	})
	return keys
}

// order is a key's place in the report.
type order struct {
	metric int    // index in engine.Metrics
	group  int    // 0 whole metric, 1 per flow, 2 per step, 3 other
	step   string // step tag value in group 2
}

func (a order) less(b order) bool {
	if a.metric != b.metric {
		return a.metric < b.metric
	}
	if a.group != b.group {
		return a.group < b.group
	}
	return a.step < b.step
}

func orderOf(key string) order {
	name, tags, tagged := strings.Cut(key, "{")
	o := order{metric: len(engine.Metrics)}
	for i, m := range engine.Metrics {
		if m.Name == name {
			o.metric = i
		}
	}
	if !tagged {
		return o
	}
	parts := strings.Split(strings.TrimSuffix(tags, "}"), ",")
	flow := strings.HasPrefix(parts[0], "flow:")
	step, isStep := strings.CutPrefix(parts[len(parts)-1], "step:")
	switch {
	case len(parts) == 1 && flow:
		o.group = 1
	case isStep && (len(parts) == 1 || len(parts) == 2 && flow):
		o.group, o.step = 2, step
	default:
		o.group = 3
	}
	return o
}

// MarshalJSON writes the map in report order (Keys) rather than encoding/json's
// alphabetical order, so that a metric's sub-metrics follow it.
func (ms Metrics) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range ms.Keys() {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := marshal(k)
		if err != nil {
			return nil, err
		}
		vb, err := marshal(ms[k])
		if err != nil {
			return nil, fmt.Errorf("report: metric %s: %w", k, err)
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// marshal is json.Marshal without HTML escaping: reports are read by people
// and scripts, never embedded raw in HTML, and "p(95) < 300ms" must stay
// readable.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

// reportedQuantiles are the percentiles a trend lists, with their CI95 keys.
var reportedQuantiles = []struct {
	stat string
	q    float64
}{{"p50", 0.5}, {"p90", 0.9}, {"p95", 0.95}, {"p99", 0.99}, {"p99.9", 0.999}}

// metricOf converts a value read from the run's total into a Metric.
func metricOf(v engine.Value, durationS float64, isBytes bool) Metric {
	m := Metric{Type: v.Type.String()}
	switch v.Type {
	case engine.Trend:
		m.Unit = "ms"
		if h := v.Hist; h != nil && h.Count() > 0 {
			m.Count = h.Count()
			m.Min, m.Avg, m.Max = ms(h.Min()), ms(h.Mean()), ms(h.Max())
			m.Med = ms(h.Quantile(0.5))
			m.P50, m.P90, m.P95 = m.Med, ms(h.Quantile(0.9)), ms(h.Quantile(0.95))
			m.P99, m.P999 = ms(h.Quantile(0.99)), ms(h.Quantile(0.999))
			m.CI95 = map[string][]*float64{}
			bs := h.Buckets()
			for _, q := range reportedQuantiles {
				// The listed value is its bucket's highest, which an
				// interval narrower than that bucket may not reach: the
				// interval is widened to hold it.
				iv := stats.QuantileOf(bs, q.q, 0.95)
				point := h.Quantile(q.q)
				iv.Lo, iv.Hi = min(iv.Lo, point), max(iv.Hi, point)
				m.CI95[q.stat] = ciOf(iv)
			}
			// Encoding cannot fail for a histogram of our own geometry; an
			// error would only drop the HDR, never the aggregates.
			m.HDR, _ = h.Encode()
		}
	case engine.Rate:
		m.Hits, m.Total = v.Hits, v.Total
		if v.Total > 0 {
			m.Rate = round(float64(v.Hits)/float64(v.Total), 6)
			lo, hi, _ := stats.Rate(v.Hits, v.Total, 0.95)
			m.CI95 = map[string][]*float64{StatRate: {ptr(round(lo, 6)), ptr(round(hi, 6))}}
		}
	case engine.Counter:
		m.Count = v.Count
		if isBytes {
			m.Unit = "B"
		}
		if durationS > 0 {
			m.Rate = round(float64(v.Count)/durationS, 3)
		}
	}
	return m
}

// selections lists what the Summary reports: every applicable metric of the
// catalogue, its per-step and per-flow sub-metrics, every threshold's
// selector and the extra ones, without duplicates.
func selections(p *engine.Plan, total *engine.Period, ths []slo.Result, extra []*engine.Selection) []*engine.Selection {
	var out []*engine.Selection
	seen := map[string]bool{}
	add := func(s *engine.Selection, err error) {
		if err == nil && s != nil && !seen[s.Key()] {
			seen[s.Key()] = true
			out = append(out, s)
		}
	}
	stepTags, flowTags := subMetricTags(p)
	for _, m := range engine.Metrics {
		base, err := engine.Select(p, m.Name, nil)
		if err != nil || !base.HasSteps() || !applies(p, m, base.Read(total)) {
			continue
		}
		add(base, nil)
		for _, tags := range append(stepTags, flowTags...) {
			s, err := engine.Select(p, m.Name, tags)
			if err != nil {
				continue // the metric has no such tag
			}
			if (m.Name == "checks" || m.Proto == engine.ProtoWS) && s.Read(total).Empty() {
				// a step without checks has no checks rate, not a 0% one;
				// a WebSocket step without expectations (or whose
				// handshakes all failed) no ws_msg_duration
				continue
			}
			add(s, nil)
		}
	}
	for _, tags := range checkTags(p, stepTags) {
		add(engine.Select(p, "checks", tags))
	}
	for _, r := range ths {
		add(engine.Select(p, r.Threshold.Metric, r.Threshold.Tags))
	}
	for _, s := range extra {
		add(s, nil)
	}
	return out
}

// applies reports whether a metric belongs in a run's report: the
// conditional ones only when the run used the feature.
func applies(p *engine.Plan, m engine.Metric, v engine.Value) bool {
	switch m.Name {
	case "dropped_iterations":
		return v.Count > 0
	case "checks":
		return v.Total > 0
	case "schedule_lag":
		return p.Load.Model == engine.Open || !v.Empty()
	case "slot_wait":
		return !v.Empty() // the open model's runs (reports of versions before it have none)
	case "ws_msg_duration", "ws_msg_service_time", "ws_msg_failed":
		return wsExpects(p) // a plan whose WebSocket steps wait for no message has none
	}
	return true
}

// wsExpects reports whether a WebSocket step of p waits for a message.
func wsExpects(p *engine.Plan) bool {
	for _, f := range p.Flows {
		for _, st := range f.Steps {
			if st.WS == nil {
				continue
			}
			for _, ex := range st.WS.Exchanges {
				if ex.Expect {
					return true
				}
			}
		}
	}
	return false
}

// subMetricTags returns the tag sets of the per-step sub-metrics ({step:S},
// or {flow:F,step:S} when S names steps in several flows) and of the
// per-flow ones (only when there are several flows).
// checkTags lists checks{step,check} for every check of the steps that
// have more than one (with one, it equals the step's own checks line).
func checkTags(p *engine.Plan, stepTags [][]engine.Tag) [][]engine.Tag {
	var out [][]engine.Tag
	for _, f := range p.Flows {
		for si := range f.Steps {
			st := &f.Steps[si]
			if len(st.Checks) < 2 {
				continue
			}
			for _, tags := range stepTags {
				if !tagsName(tags, f.Name, st.Name) {
					continue
				}
				for _, n := range st.CheckNames() {
					out = append(out, append(append([]engine.Tag(nil), tags...), engine.Tag{Key: "check", Value: n}))
				}
			}
		}
	}
	return out
}

// tagsName reports whether step tags (step, or flow and step) name the
// given step.
func tagsName(tags []engine.Tag, flow, step string) bool {
	ok := false
	for _, t := range tags {
		switch {
		case t.Key == "step":
			ok = t.Value == step
		case t.Key == "flow" && t.Value != flow:
			return false
		}
	}
	return ok
}

func subMetricTags(p *engine.Plan) (steps, flows [][]engine.Tag) {
	flowsOf := map[string]map[string]bool{}
	for _, f := range p.Flows {
		for _, st := range f.Steps {
			if flowsOf[st.Name] == nil {
				flowsOf[st.Name] = map[string]bool{}
			}
			flowsOf[st.Name][f.Name] = true
		}
	}
	for _, f := range p.Flows {
		for _, st := range f.Steps {
			switch {
			case st.Name == "":
			case len(flowsOf[st.Name]) > 1:
				steps = append(steps, []engine.Tag{{Key: "flow", Value: f.Name}, {Key: "step", Value: st.Name}})
			default:
				steps = append(steps, []engine.Tag{{Key: "step", Value: st.Name}})
			}
		}
	}
	if len(p.Flows) > 1 {
		for _, f := range p.Flows {
			flows = append(flows, []engine.Tag{{Key: "flow", Value: f.Name}})
		}
	}
	return steps, flows
}
