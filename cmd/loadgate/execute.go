package main

import (
	"io"
	"os"
	"slices"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/gate"
	"github.com/loadgate/loadgate/scenarios"
)

// gateConfig is the run of sc as the flags describe it (package gate).
// Everything it prints goes through a redactor of the scenario's secrets
// (secure.go); the warnings known before the run are printed here.
func (f *runFlags) gateConfig(sc *scenarios.Scenario, stdout, stderr io.Writer) gate.Config {
	color := !f.noColor && isTerminal(stdout) && os.Getenv("NO_COLOR") == ""
	stdout, stderr = redacting(stdout, sc.Secrets), redacting(stderr, sc.Secrets)
	return gate.Config{
		Scenario: sc, Outputs: f.outputs, Quiet: f.quiet, Color: color, TTY: isTerminal(stderr),
		Preflight: !f.noPre, Engine: &engine.Engine{UserAgent: userAgent(), TLS: sc.TLSConfig()}, Stdout: stdout, Stderr: stderr,
		Baseline: f.base, MetricsAddr: f.metrics.addr, MetricsLinger: f.metrics.linger, ConsoleCode: f.failCode.of,
		Warnings: slices.Concat(transportWarnings(sc, stderr), f.baselineWarnings(sc, stderr)),
		Version:  version,
	}
}

// runGate runs cfg and returns its verdict as an exitError, remapped by
// --exit-code-on-fail.
func (f *runFlags) runGate(cfg gate.Config, stderr io.Writer) error {
	return f.failCode.remap(&exitError{code: gate.Run(cfg), err: errReported}, stderr)
}

// isTerminal reports whether w is a character device (a TTY).
func isTerminal(w io.Writer) bool {
	if rw, ok := w.(*redactWriter); ok {
		w = rw.w
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
