package main

// Quick mode: `loadgate run --url URL --rate R --duration D` without a
// scenario file, for one-line smoke tests. The flags are turned into the
// text of a one-flow, one-step scenario and parsed by scenarios.Parse, so
// that a quick run is validated (and fails) exactly as a file would. Every
// generated line remembers the flag it came from, and an error in it is
// shown against that flag with a caret under the offending character.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/loadgate/loadgate/scenarios"
)

// quickFlags are the flags of quick mode.
type quickFlags struct {
	url        string
	method     string
	headers    []string // "Key: Value"
	body       string
	thresholds []string // "metric: expr"
}

func (q *quickFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&q.url, "url", "", "quick mode, no scenario file: send --method to this URL at --rate for --duration")
	fs.StringVar(&q.method, "method", "GET", "quick mode: the request method")
	fs.StringArrayVar(&q.headers, "header", nil, "quick mode: a request header 'Key: Value'; repeatable")
	fs.StringVar(&q.body, "body", "", "quick mode: the request body")
	fs.StringArrayVar(&q.thresholds, "threshold", nil, "quick mode: a threshold 'metric: expr', e.g. 'http_req_duration: p(95) < 300ms'; repeatable")
}

// given reports whether any quick-mode flag other than --url was set.
func (q *quickFlags) given(fs *pflag.FlagSet) []string {
	var out []string
	for _, name := range []string{"method", "header", "body", "threshold"} {
		if fs.Changed(name) {
			out = append(out, "--"+name)
		}
	}
	return out
}

// origin is where a line of the generated scenario came from: the flag,
// its whole value, and the part of the value written on the line (its
// offset in the value and the 1-based column where it starts in the line).
// col is 0 when the value had to be escaped and columns no longer match.
type origin struct {
	flag, value string
	off, col    int
}

// quickDoc is a generated scenario: its text and, per line, its origin.
type quickDoc struct {
	b       bytes.Buffer
	origins []origin // [line-1]; zero for lines of no flag
}

// line appends one line; part (from value at off) is written quoted after
// prefix.
func (d *quickDoc) line(prefix string, o origin, part string) {
	q := yamlQuote(part)
	if o.flag != "" && q[1:len(q)-1] == part {
		o.col = len(prefix) + 2
	}
	d.b.WriteString(prefix + q + "\n")
	d.origins = append(d.origins, o)
}

func (d *quickDoc) plain(s string) {
	d.b.WriteString(s + "\n")
	d.origins = append(d.origins, origin{})
}

// yamlQuote writes s as a double-quoted YAML scalar: JSON string syntax,
// which YAML reads the same way.
func yamlQuote(s string) string {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false) // keep < and > as they are, so columns match
	_ = e.Encode(s)        // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// quickScenarioName names the synthetic scenario in reports.
const quickScenarioName = "quick"

// scenario builds and parses the quick scenario. Errors are printed to
// stderr, each against its flag, and returned as exit 2.
func (q *quickFlags) scenario(f *runFlags, stderr io.Writer) (*scenarios.Scenario, error) {
	if f.rate <= 0 || f.duration <= 0 {
		return nil, usagef("quick mode (--url) needs --rate and --duration, e.g. --rate 50 --duration 30s")
	}
	doc, err := q.doc(f)
	if err != nil {
		return nil, err
	}
	sc, err := scenarios.Parse(quickScenarioName, []byte(doc.b.String()), scenarios.EnvLookup(f.overrides), f.compileOptions()...)
	if err == nil {
		sc.Path = "" // no file
		// --threshold 'http_req_failed: rate < baseline + 1%' with a
		// --baseline without errors could never pass (docs/thresholds.md).
		if err = sc.CheckBaseline(f.base); err == nil {
			return sc, nil
		}
	}
	errs, ok := err.(scenarios.Errors)
	if !ok {
		return nil, f.overrideError(&exitError{code: exitInvalid, err: err})
	}
	for _, e := range errs {
		doc.explain(stderr, e)
	}
	fmt.Fprintf(stderr, "loadgate: quick mode: %d error(s); nothing was sent\n", len(errs))
	return nil, &exitError{code: exitInvalid, err: errReported}
}

// doc generates the scenario text.
func (q *quickFlags) doc(f *runFlags) (*quickDoc, error) {
	d := &quickDoc{}
	d.plain("name: " + quickScenarioName)
	d.plain("load:")
	d.plain("  rate: " + strconv.FormatFloat(f.rate, 'g', -1, 64))
	d.plain("  duration: " + f.duration.String())
	d.plain("flows:")
	d.plain("  - name: " + quickScenarioName)
	d.plain("    steps:")
	d.plain("      - name: request")
	method := strings.ToLower(q.method)
	if !slices.Contains([]string{"get", "post", "put", "patch", "delete", "head", "options"}, method) {
		return nil, usagef(fmt.Sprintf("--method %q: want GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS", q.method))
	}
	d.line("        "+method+": ", origin{flag: "--url", value: q.url}, q.url)
	if len(q.headers) > 0 {
		d.plain("        headers:")
	}
	for _, h := range q.headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usagef(fmt.Sprintf("--header %q: want 'Key: Value'", h))
		}
		off := len(k) + 1 + (len(v) - len(strings.TrimLeft(v, " \t")))
		d.line("          "+yamlQuote(strings.TrimSpace(k))+": ", origin{flag: "--header", value: h, off: off}, strings.TrimSpace(v))
	}
	if q.body != "" {
		d.line("        body: ", origin{flag: "--body", value: q.body}, q.body)
	}
	if len(q.thresholds) > 0 {
		d.plain("thresholds:")
	}
	// Expressions of one metric share its key: a duplicate key is an error.
	type expr struct {
		text, flag string
		off        int
	}
	var metrics []string
	byMetric := map[string][]expr{}
	for _, t := range q.thresholds {
		metric, off, ok := splitThreshold(t)
		if !ok {
			return nil, usagef(fmt.Sprintf("--threshold %q: want 'metric: expression', e.g. 'http_req_duration: p(95) < 300ms'", t))
		}
		if _, seen := byMetric[metric]; !seen {
			metrics = append(metrics, metric)
		}
		byMetric[metric] = append(byMetric[metric], expr{t[off:], t, off})
	}
	for _, m := range metrics {
		first := byMetric[m][0]
		d.line("  ", origin{flag: "--threshold", value: first.flag}, m)
		d.b.Truncate(d.b.Len() - 1) // the key's colon goes on the same line
		d.b.WriteString(":\n")
		for _, e := range byMetric[m] {
			d.line("    - ", origin{flag: "--threshold", value: e.flag, off: e.off}, e.text)
		}
	}
	return d, nil
}

// splitThreshold splits "metric{tags}: expr" at the colon after the
// selector (tags hold colons too) and returns the metric and the offset of
// the expression.
func splitThreshold(t string) (metric string, off int, ok bool) {
	from := 0
	if i := strings.IndexByte(t, '{'); i >= 0 {
		if j := strings.IndexByte(t[i:], '}'); j >= 0 {
			from = i + j
		}
	}
	c := strings.IndexByte(t[from:], ':')
	if c < 0 {
		return "", 0, false
	}
	c += from
	metric = strings.TrimSpace(t[:c])
	off = c + 1
	for off < len(t) && (t[off] == ' ' || t[off] == '\t') {
		off++
	}
	if metric == "" || off == len(t) {
		return "", 0, false
	}
	return metric, off, true
}

// explain prints e against the flag its line came from, with the flag's
// value and a caret under the column, or as it is for lines of no flag.
func (d *quickDoc) explain(w io.Writer, e *scenarios.Error) {
	var o origin
	if e.Line >= 1 && e.Line <= len(d.origins) {
		o = d.origins[e.Line-1]
	}
	if o.flag == "" {
		fmt.Fprintf(w, "loadgate: quick mode: %s\n", e.Msg)
		return
	}
	fmt.Fprintf(w, "loadgate: %s %q: %s\n", o.flag, o.value, e.Msg)
	if o.col == 0 || strings.ContainsAny(o.value, "\n\r") {
		return
	}
	at := o.off + e.Col - o.col
	if at < o.off || at > len(o.value) {
		at = o.off // the error is about the whole value
	}
	fmt.Fprintf(w, "    %s\n    %s^\n", o.value, strings.Repeat(" ", at))
}

// scenario returns the scenario of a run: the quick one with --url, else
// the file named by the one argument.
func (f *runFlags) scenario(fs *pflag.FlagSet, stderr io.Writer) (*scenarios.Scenario, error) {
	if f.quick.url == "" {
		if given := f.quick.given(fs); len(given) > 0 {
			return nil, usagef(strings.Join(given, ", ") + " need --url (quick mode, without a scenario file)")
		}
		if fs.NArg() != 1 {
			return nil, usagef("want one scenario file: loadgate run SCENARIO.yaml (or quick mode: loadgate run --url URL --rate R --duration D)")
		}
		sc, err := loadScenario(fs.Arg(0), f.overrides, stderr, f.compileOptions()...)
		if err != nil {
			return nil, f.overrideError(err)
		}
		// A baseline threshold that could never pass on this baseline
		// (docs/thresholds.md, Baselines).
		if err := scenarioErrors(fs.Arg(0), sc.CheckBaseline(f.base), stderr); err != nil {
			return nil, err
		}
		return sc, nil
	}
	if fs.NArg() != 0 {
		return nil, usagef("quick mode (--url) takes no scenario file")
	}
	return f.quick.scenario(f, stderr)
}
