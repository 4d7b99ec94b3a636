// Package sli runs server-side SLI queries (DESIGN §5) against Prometheus
// over a run's own window and turns each answer into an slo.SLIReading,
// which the slo.Evaluator judges like any threshold.
//
// Data flow: scenarios decodes sli.prometheus into named PromQL queries; the
// CLI builds a Querier, runs it live every live_every and once after the
// run (after waiting one scrape interval, so that the last values are
// stored), and feeds the readings to the Evaluator with ObserveSLI.
//
// A query's $RANGE, $START and $END are replaced by the window: $RANGE by
// its length in whole seconds rounded up ("37s", for range selectors such as
// rate(x[$RANGE])), $START and $END by Unix times in seconds (for the @
// modifier). Queries are evaluated at the window's end. Each runs under its
// own timeout. A query must yield one number: a scalar or a vector of one
// sample. An empty result, several series, NaN, an error or a timeout is a
// reading without a value whose error says why, so the threshold fails
// with that reason at the end, never silently passes.
//
// Concurrency: a Querier is immutable after New and safe for concurrent use.
package sli
