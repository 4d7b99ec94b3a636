package main

import (
	"fmt"
	"io"

	"github.com/loadgate/loadgate/report"
	"github.com/loadgate/loadgate/scenarios"
)

// redactWriter scrubs secrets from everything a run prints (progress,
// warnings, errors), whoever prints it, and cuts every URL in it to its
// origin (docs/reports.md, "What outputs may name": a library's error may
// quote a whole URL, path and query included). Each Write is redacted on
// its own: the writers of a run print whole lines in one call, so a secret
// is never split across two writes.
type redactWriter struct {
	w   io.Writer
	red *report.Redactor
}

// redacting wraps w, with or without secrets.
func redacting(w io.Writer, secrets []string) io.Writer {
	return &redactWriter{w: w, red: report.NewRedactor(secrets)}
}

// Write writes p redacted and reports len(p) on success, as the caller
// wrote p whatever the redacted length.
func (r *redactWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(r.w, r.red.String(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// tlsInsecureWarning is printed on stderr and kept in every report when
// certificate verification is off.
const tlsInsecureWarning = "tls.insecure_skip_verify is on: certificates of https targets are NOT verified; " +
	"anyone on the path can impersonate them (use tls.ca_file to trust a private CA instead)"

// transportWarnings prints and returns the warnings of the scenario's tls
// section.
func transportWarnings(sc *scenarios.Scenario, stderr io.Writer) []string {
	if !sc.TLSInsecure() {
		return nil
	}
	fmt.Fprintf(stderr, "loadgate: WARNING: %s\n", tlsInsecureWarning)
	return []string{tlsInsecureWarning}
}
