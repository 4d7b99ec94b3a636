// Package sli runs server-side SLI queries (docs/scenario-reference.md,
// sli) against Prometheus over a run's own window and turns each answer
// into an slo.SLIReading, which the slo.Evaluator judges like any
// threshold.
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
// sample. Several series, NaN, an error or a timeout is a reading without a
// value whose error says why, so the threshold fails with that reason at
// the end, never silently passes; so is an empty result, unless the query
// says what it reads as (Query.Empty, the scenario's empty key;
// docs/scenario-reference.md, "sli").
//
// Before the run, preflight sends each query once with Check, over the
// second before it starts (docs/exit-codes.md): a *QueryError with
// FaultQuery (Prometheus refused it, or its type can never be one number)
// is exit 2 at the query's position in the scenario, one with FaultServer
// (Prometheus unreachable or not answering) exit 3.
//
// Messages name the server by its URL's origin only (docs/reports.md,
// "What outputs may name").
//
// Concurrency: a Querier is immutable after New and safe for concurrent use.
package sli
