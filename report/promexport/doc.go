// Package promexport serves a run's live measurements to Prometheus
// (docs/metrics.md, Live metrics): a custom Collector that turns the latest engine.Snapshot and
// the evaluator's live threshold results into const metrics at scrape time,
// on a private registry, and a Server for /metrics that lingers at the end
// of a run until the final values have been scraped.
//
// Data flow: the engine publishes one immutable Snapshot per interval; the
// CLI keeps the latest one, and the Collector reads it (through
// Options.Latest) when Prometheus scrapes. Nothing is recorded twice per
// request: counters are the snapshot's totals, latency quantiles are exact
// HDR quantiles of its whole-run histogram, and the classic histogram's
// cumulative bucket counts are computed from the same HDR data.
//
// Labels come only from names the user wrote (flow and step names, the
// scenario's name, threshold selectors and expressions), never from URLs,
// and their number is capped (MaxStepSeries, MaxThresholdSeries).
//
// Exposed metrics:
//
//	loadgate_run_info{scenario,version}                  1
//	loadgate_run_finished                                1 once the final snapshot is out
//	loadgate_requests_total{flow,step,status}            requests completed, status class 2xx.. or none
//	loadgate_errors_total{kind}                          failed requests by outcome kind
//	loadgate_request_duration_seconds                    summary: exact HDR quantiles of http_req_duration
//	loadgate_request_duration_classic_seconds            histogram of http_req_duration, buckets at threshold limits
//	loadgate_in_flight                                   iterations running
//	loadgate_schedule_lag_seconds                        summary of the generator's schedule lag
//	loadgate_iterations_total{flow}                      iterations completed
//	loadgate_dropped_iterations_total                    arrivals that found no free slot
//	loadgate_data_sent_bytes_total, ..._received_...     wire bytes
//	loadgate_threshold_ok{metric,expr}                   0 when the threshold has failed, else 1
//
// Concurrency: Collect may run on any goroutine, concurrently with the run;
// it reads only immutable snapshots and the evaluator's Results (which lock
// on their own). A Server is started and closed by one goroutine.
package promexport
