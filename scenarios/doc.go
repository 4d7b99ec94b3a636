// Package scenarios turns a scenario file (YAML version 1,
// docs/scenario-reference.md) into an engine.Plan and the list of
// slo.Thresholds that gate the run.
//
// Data flow: the CLI calls Load (or Parse); the file is decoded into a
// yaml.Node tree with positions, checked against hard limits (size, depth,
// aliases), ${VAR} references are substituted on scalar values, the tree is
// decoded into a Spec while type errors are collected, the Spec is validated
// and compiled into engine.Plan, and every threshold selector is resolved
// against that plan with engine.Select. Every problem found on the way is
// reported at once as Errors, each one as file:line:col: message, so that a
// user fixes a file in one round trip (docs/reliability.md, rows 25, 28, 29).
//
// Nothing here touches the network; Load reads the scenario file and Parse
// only stats the data files the scenario names.
//
// Concurrency: Load and Parse are safe for concurrent use; they share no
// mutable state. A returned Scenario is owned by the caller.
package scenarios
