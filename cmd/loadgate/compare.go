package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/loadgate/loadgate/report"
)

// compareCmd checks NEW.json against BASE.json: exit 1 on a regression, 0
// otherwise, 2 on bad input. Several base runs (every argument but the
// last) are pooled into one (report.Pool). The comparison itself is
// report.Compare.
func compareCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compare", "compare BASE.json [BASE2.json ...] NEW.json [--max [METRIC:]STAT=LIMIT]... [--json]", stdout, stderr)
	maxes := fs.StringArray("max", nil, "a regression rule overriding the defaults (p95=+10%, p99=+15%, error_rate=+1pp),\n"+
		"e.g. p95=+5%, p99=+20ms, error_rate=+0.5pp, http_req_duration{step:search}:p95=+5%,\n"+
		"checks:rate=-1pp (a drop), p99=off; p95=+10%,+2ms must exceed both (a floor);\n"+
		"repeatable: more rules for one stat add limits to it")
	confidence := fs.String("confidence", "95%", "the level of the intervals and tests that tell a regression from noise\n"+
		"(a change past its limit that is not significant is not a regression); off judges limits alone")
	asJSON := fs.Bool("json", false, "print the result as JSON: {\"regressions\":[...],\"rows\":[...],...}")
	noColor := fs.Bool("no-color", false, "no ANSI colors")
	var fc failCode
	fc.register(fs)
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return usagef("want two reports or more: loadgate compare BASE.json [BASE2.json ...] NEW.json")
	}
	var rules []report.Rule
	for _, m := range *maxes {
		r, err := report.ParseRule(m)
		if err != nil {
			return usagef("--max " + err.Error())
		}
		rules = append(rules, r)
	}
	paths := fs.Args()
	var bases []*report.Summary
	for _, p := range paths[:len(paths)-1] {
		b, err := report.ReadJSON(p)
		if err != nil {
			return usagef(err.Error())
		}
		bases = append(bases, b)
	}
	base, err := report.Pool(bases)
	if err != nil {
		return usagef(err.Error())
	}
	next, err := report.ReadJSON(paths[len(paths)-1])
	if err != nil {
		return usagef(err.Error())
	}
	conf, err := parseConfidence(*confidence)
	if err != nil {
		return usagef("--confidence " + err.Error())
	}
	c, err := report.Compare(base, next, report.CompareOptions{Rules: rules, Confidence: conf})
	if err != nil {
		return usagef(err.Error())
	}
	c.Base.Path, c.New.Path = paths[0], paths[len(paths)-1]
	if len(bases) > 1 {
		c.Base.Path = strings.Join(paths[:len(paths)-1], " + ")
		c.Notes = append(c.Notes, fmt.Sprintf("the base is %d runs pooled: their histograms merged, rates pooled, counters averaged", len(bases)))
	}
	if *asJSON {
		err = report.WriteCompareJSON(stdout, c)
	} else {
		err = report.WriteCompareText(stdout, c, !*noColor && isTerminal(stdout) && os.Getenv("NO_COLOR") == "")
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgate compare: %v\n", err)
		return &exitError{code: exitIO, err: errReported}
	}
	if !c.Passed {
		return fc.remap(&exitError{code: exitFailed}, stderr)
	}
	return nil
}

// parseConfidence reads a confidence level, "95%" or "0.95", or "off"
// (returned as -1: significance off).
func parseConfidence(s string) (float64, error) {
	if s == "off" {
		return -1, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err == nil && strings.HasSuffix(s, "%") {
		v /= 100
	}
	if err != nil || v < 0.5 || v >= 1 {
		return 0, fmt.Errorf("%q: want a level from 50%% to 99.99%% (95%%, 0.99) or off", s)
	}
	return v, nil
}
