package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/loadgate/loadgate/histogram"
)

// Comparison is the regression check of a new run against a base run
// (loadgate compare): every metric present in both, side by side, and the
// rows whose change broke a rule. Field names are a public contract, like
// the report's.
type Comparison struct {
	Base RunRef `json:"base"`
	New  RunRef `json:"new"`
	// Passed is false when any row is a regression.
	Passed      bool  `json:"passed"`
	Regressions []Row `json:"regressions"`
	Rows        []Row `json:"rows"`
	// Rules are the rules in force, defaults overridden by the user's.
	Rules []string `json:"rules"`
	// Notes are what a reader must know: metrics in one run only, runs of
	// different scenarios, a partial run.
	Notes []string `json:"notes"`
	// Confidence is the level of the rows' intervals and significance;
	// absent when significance is off.
	Confidence float64 `json:"confidence,omitempty"`
}

// DefaultConfidence is the level of compare's intervals and tests.
const DefaultConfidence = 0.95

// Row is one statistic of one metric in both runs. Values are in Unit:
// "ms" for trends, "share" (0..1) for rates, "count" or "B" for counter
// sums, "/s" or "B/s" for counter rates.
type Row struct {
	Metric string  `json:"metric"`
	Stat   string  `json:"stat"`
	Unit   string  `json:"unit"`
	Base   float64 `json:"base"`
	New    float64 `json:"new"`
	Delta  float64 `json:"delta"` // New - Base
	// Change is Delta relative to Base (0.1 is +10%); null when Base is 0.
	Change *float64 `json:"change"`
	// Limit is the rule that applies ("+10%", "+20ms", "+1pp", "off"), and
	// Bound the worst New it allows; both absent when no rule applies.
	Limit      string   `json:"limit,omitempty"`
	Bound      *float64 `json:"bound,omitempty"`
	Regression bool     `json:"regression"`
	// NoData is set when the new run has no data for the stat (the metric
	// is missing or has no samples) while the base run has: a regression
	// when a rule covers the stat, as a threshold without data fails. New,
	// Delta and Change are then meaningless (0, 0, null).
	NoData bool `json:"no_data,omitempty"`
	// BaseCI and NewCI are the confidence intervals of a percentile (from
	// the HDR histogram, package stats) or a rate (Wilson), [lo, hi] in
	// Unit; a null side is open (too few samples to bound it). Absent for
	// other stats.
	BaseCI []*float64 `json:"base_ci,omitempty"`
	NewCI  []*float64 `json:"new_ci,omitempty"`
	// PValue is the probability of a difference at least this large
	// between two runs of one distribution: the Mann-Whitney U test of the
	// two histograms for min, avg and max, a two-proportion test for a
	// rate. Absent for percentiles (judged by their intervals), counters
	// (exact) and when significance is off.
	PValue *float64 `json:"p_value,omitempty"`
	// Significant says the difference is unlikely to be noise at the
	// comparison's confidence: for a percentile, the two intervals do not
	// overlap; for min, avg and max, the rank test finds the new run
	// shifted that way; for a rate, the two-proportion test. Counters are
	// always significant.
	Significant bool `json:"significant"`
	// Spread is the run-to-run noise of a percentile or a rate, in Unit: the
	// change two runs of one build show within the comparison's
	// confidence, from the half-widths of the two intervals combined
	// (√(a²+b²)). Limits under it flag noise; absent without two closed
	// intervals (docs/thresholds.md, "Limits that do not flake").
	Spread *float64 `json:"spread,omitempty"`
	// Noise is set on a change past its limit that is not significant: it
	// is not a regression (docs/thresholds.md, "Limits that do not flake").
	Noise bool `json:"noise,omitempty"`
	// Message explains a regression in words.
	Message string `json:"message,omitempty"`
}

// CompareOptions are the rules and the confidence of a comparison.
type CompareOptions struct {
	// Rules override and add to DefaultRules (see Compare).
	Rules []Rule
	// Confidence is the level of the intervals and tests: 0.95 when 0.
	// Negative turns significance off: every change past its limit is a
	// regression, as before loadgate judged noise.
	Confidence float64
}

// statsOf are the statistics every metric of a type shows.
var statsOf = map[string][]string{
	TypeTrend:   {"p50", "p95", "p99", "max"},
	TypeRate:    {StatRate},
	TypeCounter: {StatCount, StatRate},
}

// Compare compares run next against run base under the default rules
// overridden by rules: a rule for a metric and stat replaces the default
// for them, and several rules for one metric and stat combine into one
// whose limits must all be exceeded (a relative limit with a floor). Percentiles, min, avg and max of trends come from the
// stored HDR histograms; rates from the exact hits and totals. It fails
// only on bad input: a rule naming a metric that is not in both runs, or a
// histogram that does not decode. A stat covered by a rule that has data
// in base but none in next (the metric is missing, or has no samples) is a
// regression: "no data in NEW".
//
// A change past its limit is a regression only when it is significant at
// opt.Confidence (see Row.Significant): with a few hundred requests a p95
// moves by tens of percent between two runs of one build, and a gate that
// fails on that fails at random.
func Compare(base, next *Summary, opt CompareOptions) (*Comparison, error) {
	rules, err := mergeRules(DefaultRules(), opt.Rules)
	if err != nil {
		return nil, err
	}
	conf := opt.Confidence
	if conf == 0 {
		conf = DefaultConfidence
	}
	c := &Comparison{Base: refOf(base), New: refOf(next), Passed: true, Regressions: []Row{}, Rows: []Row{}, Notes: []string{}}
	if conf > 0 {
		c.Confidence = conf
	}
	for _, r := range rules {
		c.Rules = append(c.Rules, r.String())
	}
	var both, onlyBase, onlyNew []string
	for _, k := range next.Metrics.Keys() {
		if _, ok := base.Metrics[k]; ok {
			both = append(both, k)
		} else {
			onlyNew = append(onlyNew, k)
		}
	}
	for _, k := range base.Metrics.Keys() {
		if _, ok := next.Metrics[k]; !ok {
			onlyBase = append(onlyBase, k)
		}
	}
	for _, r := range rules {
		// A rule on a metric the new run lacks judges it as no data.
		if r.Metric != "" && !slices.Contains(both, r.Metric) && !slices.Contains(onlyBase, r.Metric) {
			return nil, fmt.Errorf("rule %s: %s is not in both runs (%s)", r, r.Metric, where(r.Metric, onlyBase, onlyNew))
		}
	}
	for _, k := range both {
		rows, note, err := compareMetric(k, base.Metrics[k], next.Metrics[k], rules, conf)
		if err != nil {
			return nil, err
		}
		if note != "" {
			c.Notes = append(c.Notes, note)
		}
		c.add(rows)
	}
	for _, k := range onlyBase {
		b := base.Metrics[k]
		bv, err := newValues(k, b)
		if err != nil {
			return nil, fmt.Errorf("base run: %w", err)
		}
		c.add(missingRows(k, bv, statsFor(k, b.Type, rules), rules))
	}
	c.Notes = append(c.Notes, runNotes(base, next, onlyBase, onlyNew)...)
	return c, nil
}

// add appends rows, and the regressions among them.
func (c *Comparison) add(rows []Row) {
	for _, row := range rows {
		c.Rows = append(c.Rows, row)
		if row.Regression {
			c.Regressions = append(c.Regressions, row)
			c.Passed = false
		}
	}
}

func where(key string, onlyBase, onlyNew []string) string {
	switch {
	case slices.Contains(onlyBase, key):
		return "only the base run has it"
	case slices.Contains(onlyNew, key):
		return "only the new run has it"
	}
	return "neither run has it"
}

// mergeRules returns the defaults with the user's rules applied, in
// first-seen order: the user's first rule for a metric and stat replaces
// the default, and each further one for them combines with it.
func mergeRules(defaults, user []Rule) ([]Rule, error) {
	out := slices.Clone(defaults)
	mine := map[[2]string]bool{}
	for _, r := range user {
		k := [2]string{r.Metric, r.Stat}
		i := slices.IndexFunc(out, func(o Rule) bool { return o.Metric == r.Metric && o.Stat == r.Stat })
		switch {
		case i < 0:
			out = append(out, r)
		case !mine[k]:
			out[i] = r
		default:
			l, err := out[i].Limit.combine(r.Limit)
			if err != nil {
				return nil, fmt.Errorf("rules for %s: %w", out[i].key(), err)
			}
			out[i].Limit = l
		}
		mine[k] = true
	}
	return out, nil
}

// ruleFor returns the rule for stat of key: one naming key wins over one
// for the stat's default scope.
func ruleFor(rules []Rule, key, stat string) (Rule, bool) {
	for _, r := range rules {
		if r.Metric == key && r.Stat == stat {
			return r, true
		}
	}
	name, _, _ := strings.Cut(key, "{")
	for _, r := range rules {
		switch {
		case r.Metric != "":
		case r.Stat == StatErrorRate && key == "http_req_failed" && stat == StatRate:
			return r, true
		case r.Stat == stat && name == "http_req_duration":
			return r, true
		}
	}
	return Rule{}, false
}

// compareMetric returns the rows of one metric present in both runs, or a
// note when they cannot be compared.
func compareMetric(key string, b, n Metric, rules []Rule, conf float64) ([]Row, string, error) {
	if b.Type != n.Type {
		return nil, fmt.Sprintf("%s is a %s in the base run and a %s in the new one: not compared", key, b.Type, n.Type), nil
	}
	stats := statsFor(key, b.Type, rules)
	bv, err := newValues(key, b)
	if err != nil {
		return nil, "", fmt.Errorf("base run: %w", err)
	}
	nv, err := newValues(key, n)
	if err != nil {
		return nil, "", fmt.Errorf("new run: %w", err)
	}
	if why := noData(bv, nv); why != "" {
		if !bv.empty() {
			// Data in the base run only: a stat with a rule regressed.
			if rows := missingRows(key, bv, stats, rules); len(rows) > 0 {
				return rows, "", nil
			}
		}
		return nil, key + ": " + why + ": not compared", nil
	}
	var rows []Row
	noise := newNoise(bv, nv, conf)
	for _, st := range stats {
		x, okB := bv.stat(st)
		y, okN := nv.stat(st)
		if !okB || !okN {
			return rows, fmt.Sprintf("%s %s: not in the report and no histogram to compute it from", key, st), nil
		}
		row := Row{Metric: key, Stat: st, Unit: unitOfStat(b, st), Base: x, New: y, Delta: roundFor(y-x, b.Type), Significant: true}
		if x != 0 {
			ch := round(row.Delta/x, 6)
			row.Change = &ch
		}
		noise.judge(&row)
		if r, ok := ruleFor(rules, key, st); ok {
			row.apply(r.Limit)
		}
		rows = append(rows, row)
	}
	return rows, "", nil
}

// statsFor lists the stats of a metric of type typ: the type's defaults,
// then those the rules add for key.
func statsFor(key, typ string, rules []Rule) []string {
	stats := slices.Clone(statsOf[typ])
	for _, r := range rules {
		if !slices.Contains(stats, r.Stat) && r.Stat != StatErrorRate {
			if _, ok := ruleFor([]Rule{r}, key, r.Stat); ok {
				stats = append(stats, r.Stat)
			}
		}
	}
	return stats
}

// missingRows are the rows of a metric with data in the base run and none
// in the new one (missing, or without samples): one regression for each
// stat a rule (not off) covers, as a threshold without data fails. The
// other stats have nothing to compare and no row.
func missingRows(key string, bv values, stats []string, rules []Rule) []Row {
	if bv.empty() {
		return nil
	}
	var rows []Row
	for _, st := range stats {
		r, ok := ruleFor(rules, key, st)
		if !ok || r.Limit.Off {
			continue
		}
		x, ok := bv.stat(st)
		if !ok {
			continue
		}
		row := Row{Metric: key, Stat: st, Unit: unitOfStat(bv.m, st), Base: x, Limit: r.Limit.Text, Regression: true, NoData: true}
		bound := roundFor(r.Limit.Bound(x), typeOfUnit(row.Unit))
		row.Bound = &bound
		row.Message = fmt.Sprintf("%s %s: no data in NEW (base %s, limit %s)", key, st, fmtStat(x, row.Unit), r.Limit.Text)
		rows = append(rows, row)
	}
	return rows
}

// apply judges the row by limit.
func (row *Row) apply(l Limit) {
	row.Limit = l.Text
	if l.Off {
		return
	}
	bound := roundFor(l.Bound(row.Base), typeOfUnit(row.Unit))
	row.Bound = &bound
	if !l.Exceeded(row.New, bound) {
		return
	}
	if !row.Significant {
		row.Noise = true
		why := "within noise"
		if open(row.BaseCI) || open(row.NewCI) {
			why = "not judged: too few samples for an interval"
		}
		row.Message = fmt.Sprintf("%s %s: %s, base %s (%s): past the %s allowed (%s), but %s",
			row.Metric, row.Stat, fmtStat(row.New, row.Unit), fmtStat(row.Base, row.Unit), fmtDelta(row.Delta, row.Unit),
			fmtStat(bound, row.Unit), l.Text, why)
		return
	}
	row.Regression = true
	word := "more than"
	if l.Down {
		word = "less than"
	}
	row.Message = fmt.Sprintf("%s %s: %s, base %s (%s): %s the %s allowed (%s)",
		row.Metric, row.Stat, fmtStat(row.New, row.Unit), fmtStat(row.Base, row.Unit),
		fmtDelta(row.Delta, row.Unit), word, fmtStat(bound, row.Unit), l.Text)
}

// values reads one metric's statistics, from its histogram when it has one.
type values struct {
	m Metric
	h *histogram.Histogram // nil for rates and counters
}

func newValues(key string, m Metric) (values, error) {
	v := values{m: m}
	if m.Type != TypeTrend || m.HDR == "" {
		return v, nil
	}
	h, err := m.Histogram()
	if err != nil {
		return v, fmt.Errorf("%s: hdr: %w", key, err)
	}
	v.h = h
	return v, nil
}

// empty reports whether the reading has no samples (a counter always has
// its count).
func (v values) empty() bool {
	switch v.m.Type {
	case TypeTrend:
		return v.m.Count == 0
	case TypeRate:
		return v.m.Total == 0
	}
	return false
}

// noData says why two readings have nothing to compare, or "".
func noData(b, n values) string {
	switch {
	case b.empty() && n.empty():
		return "no samples in either run"
	case b.empty():
		return "no samples in the base run"
	case n.empty():
		return "no samples in the new run"
	}
	return ""
}

// stat returns one statistic; ok is false when neither the histogram nor
// the report's fields have it.
func (v values) stat(st string) (float64, bool) {
	m := &v.m
	switch m.Type {
	case TypeRate:
		return float64(m.Hits) / float64(m.Total), st == StatRate
	case TypeCounter:
		if st == StatCount {
			return float64(m.Count), true
		}
		return m.Rate, st == StatRate
	}
	if v.h != nil {
		switch st {
		case "min":
			return ms(v.h.Min()), true
		case "max":
			return ms(v.h.Max()), true
		case "avg":
			return ms(v.h.Mean()), true
		case "med":
			return ms(v.h.Quantile(0.5)), true
		}
		q, ok := quantileOf(st)
		return ms(v.h.Quantile(q)), ok
	}
	// A report without histograms (written by hand, or trimmed): the listed
	// aggregates only.
	listed := map[string]float64{"min": m.Min, "avg": m.Avg, "med": m.Med, "max": m.Max,
		"p50": m.P50, "p90": m.P90, "p95": m.P95, "p99": m.P99, "p99.9": m.P999}
	x, ok := listed[st]
	return x, ok
}

// unitOfStat is the unit of a row's values.
func unitOfStat(m Metric, st string) string {
	switch {
	case m.Type == TypeTrend:
		return "ms"
	case m.Type == TypeRate:
		return "share"
	case st == StatRate:
		return m.Unit + "/s" // "/s" or "B/s"
	case m.Unit != "":
		return m.Unit
	}
	return "count"
}

func typeOfUnit(unit string) string {
	switch unit {
	case "ms":
		return TypeTrend
	case "share":
		return TypeRate
	}
	return TypeCounter
}

// roundFor rounds a value to the precision the report keeps for its type:
// a microsecond for trends, 6 decimals for shares, 3 for counters.
func roundFor(x float64, typ string) float64 {
	switch typ {
	case TypeTrend, TypeCounter:
		return round(x, 3)
	}
	return round(x, 6)
}

// runNotes lists what makes the two runs less comparable.
func runNotes(base, next *Summary, onlyBase, onlyNew []string) []string {
	var out []string
	if base.Scenario.Name != next.Scenario.Name {
		out = append(out, fmt.Sprintf("the runs are of different scenarios: %q and %q", base.Scenario.Name, next.Scenario.Name))
	} else if base.Scenario.SHA256 != next.Scenario.SHA256 && base.Scenario.SHA256 != "" && next.Scenario.SHA256 != "" {
		out = append(out, "the scenario file changed between the runs (sha256 differs)")
	}
	for _, r := range []struct {
		name string
		s    *Summary
	}{{"base", base}, {"new", next}} {
		switch {
		case r.s.Aborted:
			out = append(out, fmt.Sprintf("the %s run was aborted early by a threshold (status %s)", r.name, r.s.Status))
		case r.s.Partial:
			out = append(out, fmt.Sprintf("the %s run is partial (status %s)", r.name, r.s.Status))
		}
	}
	if len(onlyBase) > 0 {
		out = append(out, "only in the base run: "+strings.Join(onlyBase, ", "))
	}
	if len(onlyNew) > 0 {
		out = append(out, "only in the new run: "+strings.Join(onlyNew, ", "))
	}
	return out
}

// open reports whether an interval has an open side.
func open(ci []*float64) bool { return len(ci) == 2 && (ci[0] == nil || ci[1] == nil) }
