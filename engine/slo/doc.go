// Package slo parses thresholds (DESIGN §5) once into typed values and
// evaluates them on the engine's interval snapshots, live and at the end, with
// the same code.
//
// Data flow: scenarios compiles each YAML threshold into a Threshold, checking
// its selector with ParseSelector and its expression with ParseExpr; the CLI
// builds an Evaluator from them and registers it as an engine.Observer; the
// Evaluator may stop the run through its abort callback; the reports read
// Results.
//
// Concurrency: an Evaluator is driven by the engine's collector goroutine
// (Observe); Results may be called after the run has returned.
package slo
