package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/loadgate/loadgate/verdict"
)

// JUnit classnames: CI test tabs group test cases by them.
const (
	junitRunClass       = "loadgate.run"
	junitThresholdClass = "loadgate.thresholds"
	junitChecksClass    = "loadgate.checks"
	junitAgentsClass    = "loadgate.agents"
	junitCapacityClass  = "loadgate.capacity"
)

// The JUnit document, as Jenkins (xunit junit-10), GitLab and GitHub test
// reporters read it: testsuites > testsuite > properties, testcase*.
// Element order inside testsuite and testcase follows the Ant schema
// (properties first; the result element before system-out), the strictest
// of the readers.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure"`
	Skipped   *junitMessage `xml:"skipped"`
	SystemOut *junitText    `xml:"system-out"`
}

// junitText is element text written with real line breaks: encoding/xml
// would escape each newline as &#xA;, which CI pages then show verbatim.
type junitText struct {
	Text string `xml:",innerxml"`
}

// newText returns s sanitized and escaped as element content.
func newText(s string) *junitText {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
	return &junitText{Text: r.Replace(xmlText(s))}
}

// junitMessage is a failure or skipped element: a one-line message
// attribute and, for failures, the details as text.
type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",innerxml"`
}

// WriteJUnit writes s as JUnit XML for CI test tabs: one testsuite named
// after the scenario, with
//   - a "run status" test case that fails unless the run passed, so that an
//     inconclusive, interrupted or io_error run is visible as well;
//   - one test case per threshold expression, named metric key + expression,
//     failing with "observed X, limit OP Y" when a fail-severity threshold
//     failed; a failed warn-severity threshold passes with a WARNING line in
//     system-out and a property, and a skipped one is <skipped>;
//   - one test case per step's checks, which never fails (thresholds on
//     checks gate the run) but says in system-out how many failed;
//   - one test case per agent of a distributed run, "agent HOST:PORT",
//     failing with the reason when the agent was lost (the run's status,
//     decided elsewhere, says what the loss means for the verdict);
//   - the run's metadata as properties.
//
// Times are in seconds. Text is sanitized for XML: control characters and
// invalid UTF-8 become U+FFFD, markup is escaped.
func WriteJUnit(w io.Writer, s *Summary) error {
	suite := junitSuiteOf(s)
	doc := junitSuites{
		Name: "loadgate", Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped,
		Time: suite.Time, Suites: []junitSuite{suite},
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	e := xml.NewEncoder(w)
	e.Indent("", "  ")
	if err := e.Encode(doc); err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("report: junit: %w", err)
	}
	return nil
}

func junitSuiteOf(s *Summary) junitSuite {
	name := s.Scenario.Name
	if name == "" {
		name = "loadgate"
	}
	suite := junitSuite{
		Name: xmlText(name), Time: junitSeconds(s.DurationS),
		Timestamp:  junitTimestamp(s.StartedAt),
		Properties: junitProperties(s),
	}
	suite.Cases = append(suite.Cases, runCase(s))
	for _, t := range s.Thresholds {
		c, warn := thresholdCase(t)
		if warn != "" {
			suite.Properties = append(suite.Properties, junitProperty{"warning", xmlText(warn)})
		}
		suite.Cases = append(suite.Cases, c)
	}
	suite.Cases = append(suite.Cases, checkCases(s)...)
	suite.Cases = append(suite.Cases, agentCases(s.Agents)...)
	suite.Cases = append(suite.Cases, capacityCases(s.Capacity)...)
	for _, c := range suite.Cases {
		suite.Tests++
		if c.Failure != nil {
			suite.Failures++
		}
		if c.Skipped != nil {
			suite.Skipped++
		}
	}
	return suite
}

// junitProperties lists the run's metadata, in a fixed order.
func junitProperties(s *Summary) []junitProperty {
	ps := []junitProperty{
		{"scenario", s.Scenario.Name},
		{"scenario.sha256", s.Scenario.SHA256},
		{"status", string(s.Status)},
		{"exit_code", strconv.Itoa(s.ExitCode)},
		{"started_at", s.StartedAt},
		{"ended_at", s.EndedAt},
		{"duration_s", strconv.FormatFloat(s.DurationS, 'f', -1, 64)},
		{"tool", strings.TrimSpace(s.Tool + " " + s.Version)},
		{"partial", strconv.FormatBool(s.Partial)},
		{"aborted", strconv.FormatBool(s.Aborted)},
	}
	if s.Scenario.Path != "" {
		ps = append(ps, junitProperty{"scenario.path", s.Scenario.Path})
	}
	if p := s.Plan; p != nil {
		ps = append(ps, junitProperty{"model", p.Model})
		if p.Segment.Count > 1 {
			ps = append(ps, junitProperty{"segment", fmt.Sprintf("%d/%d", p.Segment.Index, p.Segment.Count)})
		}
	}
	for _, r := range s.Reasons {
		ps = append(ps, junitProperty{"reason", r})
	}
	for _, x := range s.Warnings {
		ps = append(ps, junitProperty{"warning", x})
	}
	for i := range ps {
		ps[i].Value = xmlText(ps[i].Value)
	}
	return ps
}

// runCase is the verdict as a test case: it fails unless the run passed.
func runCase(s *Summary) junitCase {
	c := junitCase{Name: "run status", Classname: junitRunClass, Time: junitSeconds(s.DurationS)}
	status := s.Status
	if status == "" {
		status = "unknown"
	}
	if status == verdict.Passed {
		if len(s.Reasons) > 0 {
			c.SystemOut = newText("passed; " + strings.Join(s.Reasons, "; "))
		}
		return c
	}
	msg := fmt.Sprintf("%s (exit code %d)", status, s.ExitCode)
	if len(s.Reasons) > 0 {
		msg += ": " + strings.Join(s.Reasons, "; ")
	}
	var body strings.Builder
	fmt.Fprintf(&body, "status %s, exit code %d", status, s.ExitCode)
	if s.Aborted {
		body.WriteString(", aborted")
	}
	if s.Partial {
		body.WriteString(", partial results")
	}
	body.WriteString("\n")
	for _, r := range s.Reasons {
		body.WriteString("- " + r + "\n")
	}
	c.Failure = &junitMessage{Message: xmlText(msg), Type: xmlText(string(status)), Text: newText(body.String()).Text}
	return c
}

// thresholdCase renders one threshold; warn is the warning text of a failed
// warn-severity threshold, "" otherwise.
func thresholdCase(t ThresholdResult) (c junitCase, warn string) {
	c = junitCase{Name: xmlText(t.Metric + " " + t.Expr), Classname: junitThresholdClass, Time: "0"}
	if t.Skipped {
		c.Skipped = &junitMessage{Message: xmlText(skipMessage(t))}
		return c, ""
	}
	if t.Passed {
		c.SystemOut = newText(observedLimit(t) + liveFailure(t))
		return c, ""
	}
	msg := t.Detail()
	if t.Undecided && t.UndecidedAs != "fail" {
		// Not a failure of the gate: the run is inconclusive (its status
		// case says so), or the threshold counts as passed.
		if t.UndecidedAs == "pass" {
			c.SystemOut = newText("undecided, counted as passed: " + msg)
			return c, ""
		}
		c.Skipped = &junitMessage{Message: xmlText("undecided: " + msg)}
		return c, ""
	}
	if t.Severity == "warn" {
		warn = t.Metric + " " + t.Expr + ": " + msg
		c.SystemOut = newText("WARNING: " + msg + " (severity warn: reported, does not fail the run)")
		return c, warn
	}
	var body strings.Builder
	fmt.Fprintf(&body, "threshold %s %s failed: %s\n", t.Metric, t.Expr, msg)
	if t.FirstFailedAt != nil {
		fmt.Fprintf(&body, "first failed at %s\n", *t.FirstFailedAt)
	}
	if t.Aborted {
		body.WriteString("abort_on_fail stopped the run\n")
	}
	c.Failure = &junitMessage{Message: xmlText(msg), Type: "threshold", Text: newText(body.String()).Text}
	return c, ""
}

func skipMessage(t ThresholdResult) string {
	if t.NotRun {
		return t.Reason // "not run: preflight failed"
	}
	if t.Reason != "" {
		return "skipped: " + t.Reason
	}
	return "skipped"
}

// checkCases reports the checks of every step (or of the whole run when no
// step has its own line). They never fail: the share of checks that must
// hold is a threshold's job (checks: ["rate > 99%"]).
func checkCases(s *Summary) []junitCase {
	var keys []string
	for _, k := range s.Metrics.Keys() {
		if strings.HasPrefix(k, "checks{") && strings.Contains(k, "step:") {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		if _, ok := s.Metrics["checks"]; ok {
			keys = []string{"checks"}
		}
	}
	out := make([]junitCase, 0, len(keys))
	for _, k := range keys {
		m := s.Metrics[k]
		c := junitCase{Name: xmlText(k), Classname: junitChecksClass, Time: "0"}
		held := fmt.Sprintf("%d of %d checks held (%s)", m.Hits, m.Total, fmtShare(m.Rate))
		if m.Hits < m.Total {
			c.SystemOut = newText(fmt.Sprintf("WARNING: %d of %d checks failed; %s", m.Total-m.Hits, m.Total, held))
		} else {
			c.SystemOut = newText(held)
		}
		out = append(out, c)
	}
	return out
}

// agentCases reports each agent of a distributed run: its coverage in
// system-out, and a failure whose message is the reason when it was lost.
func agentCases(as []Agent) []junitCase {
	out := make([]junitCase, 0, len(as))
	for _, a := range as {
		c := junitCase{Name: xmlText("agent " + a.Addr), Classname: junitAgentsClass, Time: "0"}
		var body strings.Builder
		if a.Name != "" {
			fmt.Fprintf(&body, "name %s, ", a.Name)
		}
		fmt.Fprintf(&body, "segment %s, %s: %d requests in %d intervals, coverage %s\n",
			a.Segment, a.Status, a.Requests, a.Intervals, agentCoverage(a))
		if a.Status != AgentLost {
			c.SystemOut = newText(body.String())
			out = append(out, c)
			continue
		}
		body.WriteString(agentLoss(a) + "\n")
		msg := a.Reason
		if msg == "" {
			msg = "lost"
		}
		c.Failure = &junitMessage{Message: xmlText(msg), Type: "agent_lost", Text: newText(body.String()).Text}
		out = append(out, c)
	}
	return out
}

// junitSeconds formats seconds with millisecond precision, as Ant does.
func junitSeconds(s float64) string {
	if s < 0 {
		s = 0
	}
	return strconv.FormatFloat(s, 'f', 3, 64)
}

// junitTimestamp turns RFC 3339 UTC into the Ant form without a zone
// (2026-11-22T10:00:00), which the strictest JUnit schemas require.
func junitTimestamp(rfc string) string {
	if len(rfc) < 19 {
		return ""
	}
	return rfc[:19]
}

// xmlText makes s safe as XML 1.0 text: characters XML cannot carry
// (control characters other than tab, newline and carriage return; invalid
// UTF-8; U+FFFE/U+FFFF) become U+FFFD. Markup is escaped by the encoder.
func xmlText(s string) string {
	ok := true
	for i, r := range s {
		if !xmlChar(r) || (r == utf8.RuneError && !isRealFFFD(s[i:])) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if !xmlChar(r) || (r == utf8.RuneError && !isRealFFFD(s[i:])) {
			r = unicode.ReplacementChar
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isRealFFFD reports whether s starts with an encoded U+FFFD rather than an
// invalid byte that ranging decodes as RuneError.
func isRealFFFD(s string) bool {
	_, size := utf8.DecodeRuneInString(s)
	return size == 3
}

// xmlChar is the Char production of XML 1.0.
func xmlChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
