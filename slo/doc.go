// Package slo parses thresholds (docs/thresholds.md) once into typed values and
// evaluates them on the engine's interval snapshots, live and at the end, with
// the same code.
//
// Data flow: scenarios compiles each YAML threshold into a Threshold, checking
// its selector with ParseSelector and its expression with ParseExpr; the CLI
// builds an Evaluator from them and registers it as an engine.Observer; the
// Evaluator may stop the run through its abort callback; the reports read
// Results.
//
// # Grammar
//
// A selector is "metric" or "metric{key:value,...}". An expression is
// AGG OP VALUE:
//
//	AGG    p(N) (0 ≤ N ≤ 100, decimals allowed), avg, min, max, med   trends
//	       rate                                                       rates (a 0..1 share)
//	       count, rate (per second)                                   counters
//	       value                                                      SLIs: sli{name:X}
//	OP     <  <=  >  >=  ==  !=   (k6's === is read as ==)
//	VALUE  300ms, 1.5s, 2m, 500us, 500µs   a duration (ns, us, µs, ms, s, m, h)
//	       500                            a plain number: ms on a trend, as in k6
//	       1%                             a percent: 0.01
//	       baseline, baseline + 10%, baseline - 5ms, baseline * 1.1
//
// Numbers are decimal without exponent or sign. Errors are *SyntaxError with
// the byte offset of the bad token and a message listing what was expected;
// Expr.Check rejects an aggregation or unit that does not fit the metric.
//
// # Evaluation
//
// Every snapshot, each threshold is judged on its data: a whole-run one on
// Snapshot.Total (the Final snapshot's Total gives its verdict), a windowed
// one on the last ceil(window/interval) intervals (fewer at the start of
// the run, so that a window longer than the run still judges). A windowed
// threshold fails if any window failed; its final Observed is the worst
// window's value.
//
// Live, no decision is made before min_samples samples (nor on no data), so
// nothing aborts early on a handful of requests. At the end, a threshold
// without data fails with "no data", one below min_samples with "not enough
// data (N of M samples)", and a latency threshold (a trend of http_req_*)
// whose every request failed with "every request failed": fast failures must
// never make latency pass. A counter is always data (zero events is a
// count). Warn severity reports and never fails the run. A baseline
// expression is Skipped unless Options.Baseline resolves it.
//
// An abort_on_fail threshold of fail severity that fails live after its
// delay calls Options.Abort once for the whole run; the final snapshot never
// aborts. The threshold that aborted the run fails whatever the data did
// after.
//
// # Server-side SLIs
//
// A threshold on sli{name:X} (SLIMetric) judges a value measured outside the
// engine, a Prometheus query over the run's window, with the same Expr and
// Op code. Snapshots never decide it: the caller feeds it with ObserveSLI,
// live (a breach may abort the run, a failing query changes nothing) and
// once final (the verdict; a failing or empty query fails with its error
// as the reason). Its AGG is value; a duration limit compares in seconds,
// Prometheus's unit; window, min_samples and baselines do not apply.
//
// # Cost
//
// Thresholds on the same selection share its reads: a snapshot's Total and
// Interval are read once per selection. A window keeps its intervals'
// histograms (immutable, shared with the Periods) and merges them with a
// two-stacks sliding aggregation, about three merges a tick whatever its
// length, at the price of up to two histograms (about 190 KB each) per
// interval of the window.
//
// Concurrency: an Evaluator is driven by the engine's collector goroutine
// (Observe). Results and Failed may be called from any goroutine at any
// time, during the run (live state) or after it (verdict): a mutex guards
// the results. The abort callback runs on the collector goroutine, outside
// that lock.
package slo
