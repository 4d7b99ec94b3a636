// Package gate is the run of a scenario as a gate: it runs a compiled
// scenario (package scenarios) on the engine or on agents (package
// cluster), judges it with the thresholds (package slo), builds its report
// (package report) and writes the -o outputs; it also judges and writes a
// merge of saved runs. The command line (cmd/loadgate) only turns flags
// into a Config and a verdict into an exit code.
//
// Data flow of Run: the scenario's plan goes to the engine (or the
// coordinator), which hands one immutable *engine.Snapshot per interval to
// the run's observers: the threshold evaluator, the timeline, the live
// progress, the generator-health watch and the run's own latest-snapshot
// holder, which the /metrics collector, the live SLI queries and the
// partial-report writer read. At the end the run judges the result into a
// verdict.Causes (thresholds, generator health, lost agents, what stopped
// the run), builds one report.Run and writes every output once with one
// policy (Writer; docs/reports.md, "Where reports go"). The status and the
// exit code come from one table (package verdict, docs/exit-codes.md).
//
// Concurrency: Run is called once per Config and blocks until the reports
// are written. During the run the engine's collector goroutine calls the
// observers; the partial-report writer and the live SLI loop are
// goroutines of their own that read only immutable snapshots and the
// evaluator's results (safe from any goroutine); the signal goroutine may
// write the reports on a second SIGINT/SIGTERM, and a mutex makes the
// reports be written exactly once, whichever goroutine gets there first.
// Several runs may go on in one process, each with its own Config, except
// that each installs its own signal handler for its duration.
package gate
