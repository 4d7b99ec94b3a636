package report

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/loadgate/loadgate/report/schema"
)

// testAgents are the two agents of the distributed golden run: one that
// ran its whole share, one lost 40 s in.
func testAgents() []Agent {
	return []Agent{
		{Addr: "127.0.0.2:7070", Name: "lg-agent-1", Segment: "0/2", Status: AgentComplete,
			Intervals: 50, Requests: 5000, Planned: 2500, Started: 2500},
		{Addr: "127.0.0.3:7070", Name: "lg-agent-2", Segment: "1/2", Status: AgentLost,
			Reason: "no heartbeat for 5s: connection reset by peer", Intervals: 40, Requests: 3994,
			Planned: 2500, Started: 1997, LostAtS: 40},
	}
}

// agentsRun is the synthetic run of the golden files as a coordinator of
// two agents reports it. A failed threshold outranks the lost agent's
// inconclusive (docs/exit-codes.md, precedence), and the reasons list both.
func agentsRun(t testing.TB) Run {
	r := testRun(t)
	r.Agents = testAgents()
	r.Reasons = append(r.Reasons, "agent 127.0.0.3:7070 lost at 40.0 s: no heartbeat for 5s: connection reset by peer")
	return r
}

// goldenAgents compares got with report/testdata/name.
func goldenAgents(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenAt(t, filepath.Join("testdata", name), got)
}

func TestAgentCoverage(t *testing.T) {
	for _, tc := range []struct {
		name             string
		planned, started int64
		want             float64
	}{
		{"nothing planned (closed model): full", 0, 0, 1},
		{"nothing planned, some started: still 1", 0, 7, 1},
		{"none started", 2500, 0, 0},
		{"partial: lost 40 s in", 2500, 1997, 0.7988},
		{"full share", 2500, 2500, 1},
	} {
		if got := (Agent{Planned: tc.planned, Started: tc.started}).Coverage(); got != tc.want {
			t.Errorf("%s: Coverage() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestBuildAgents: Build copies the coordinator's agents (a copy: the Run
// may be reused), redacts their free text and keeps lost_at_s to the ms; a
// single-host run has none and its JSON no "agents" key.
func TestBuildAgents(t *testing.T) {
	r := agentsRun(t)
	s := Build(r)
	if !reflect.DeepEqual(s.Agents, testAgents()) {
		t.Errorf("Summary.Agents = %+v, want %+v", s.Agents, testAgents())
	}
	r.Agents[0].Status = AgentLost
	if s.Agents[0].Status != AgentComplete {
		t.Error("the Summary shares its agents with the Run")
	}

	r = agentsRun(t)
	r.Redactor = NewRedactor([]string{"s3cret"})
	r.Agents[1].Reason = "dial https://u:s3cret@h/: refused"
	r.Agents[1].LostAtS = 40.12345
	s = Build(r)
	if got := s.Agents[1].Reason; got != "dial https://h: refused" {
		t.Errorf("reason %q, want it redacted and the URL cut to its origin", got)
	}
	if got := s.Agents[1].LostAtS; got != 40.123 {
		t.Errorf("lost_at_s %v, want 40.123", got)
	}

	single := Build(testRun(t))
	if single.Agents != nil {
		t.Errorf("single-host run: agents %v, want nil", single.Agents)
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, single); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b.Bytes(), []byte(`"agents"`)) {
		t.Error(`single-host JSON has an "agents" key`)
	}
}

// TestAgentsGolden: the distributed run in every format; the JSON is valid
// against the schema and the JUnit against the XSD.
func TestAgentsGolden(t *testing.T) {
	s := Build(agentsRun(t))
	var j, txt, col bytes.Buffer
	if err := WriteJSON(&j, s); err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&txt, s, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&col, s, true); err != nil {
		t.Fatal(err)
	}
	h := htmlOf(t, s)
	x := junitOf(t, s)
	goldenAgents(t, "agents.json", j.Bytes())
	goldenAgents(t, "agents.txt", txt.Bytes())
	goldenAgents(t, "agents_color.txt", col.Bytes())
	goldenAgents(t, "agents.html", h)
	goldenAgents(t, "agents.junit.xml", x)
	if err := schema.Validate(j.Bytes()); err != nil {
		t.Error(err)
	}
	checkSelfContained(t, h)
	checkJUnit(t, x)
	validateXSD(t, x)
}

// TestAgentsJSONRoundTrip: agents survive ReadJSON → WriteJSON, which is
// how `loadgate report RUN.json -o json=...` re-renders a saved run.
func TestAgentsJSONRoundTrip(t *testing.T) {
	var first bytes.Buffer
	if err := WriteJSON(&first, Build(agentsRun(t))); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "run.json")
	if err := os.WriteFile(path, first.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Agents, testAgents()) {
		t.Errorf("read back agents %+v, want %+v", s.Agents, testAgents())
	}
	var second bytes.Buffer
	if err := WriteJSON(&second, s); err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() {
		t.Errorf("decode → encode changed the document:\n%s\nvs\n%s", first.String(), second.String())
	}
	for _, want := range []string{`"agents": [`, `"addr": "127.0.0.3:7070"`, `"status": "lost"`, `"lost_at_s": 40`} {
		if !strings.Contains(first.String(), want) {
			t.Errorf("JSON lacks %s", want)
		}
	}
	// lost_at_s and reason are left out for an agent that was not lost.
	complete := first.String()[strings.Index(first.String(), `"addr": "127.0.0.2:7070"`):strings.Index(first.String(), `"addr": "127.0.0.3:7070"`)]
	if strings.Contains(complete, "lost_at_s") || strings.Contains(complete, "reason") {
		t.Errorf("complete agent carries loss fields:\n%s", complete)
	}
}

// TestAgentsSchemaRejects: the schema's agent definition catches what a
// script reading agents would trip on.
func TestAgentsSchemaRejects(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, Build(agentsRun(t))); err != nil {
		t.Fatal(err)
	}
	good := b.String()
	for _, tc := range []struct {
		name, old, new string
	}{
		{"unknown status", `"status": "lost"`, `"status": "gone"`},
		{"segment not I/N", `"segment": "1/2"`, `"segment": "second half"`},
		{"missing addr", `"addr": "127.0.0.2:7070",`, ``},
		{"missing planned", `"planned": 2500,`, ``},
		{"negative requests", `"requests": 3994`, `"requests": -1`},
		{"negative lost_at_s", `"lost_at_s": 40`, `"lost_at_s": -1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(good, tc.old) {
				t.Fatalf("the report lacks %s", tc.old)
			}
			err := schema.Validate([]byte(strings.Replace(good, tc.old, tc.new, 1)))
			if err == nil || !strings.Contains(err.Error(), "agents") {
				t.Errorf("error %v, want one about agents", err)
			}
		})
	}
}

// TestAgentsText: the agents section follows the generator health, one
// line per agent with its coverage, and why a lost agent was lost.
func TestAgentsText(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, Build(agentsRun(t)), false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"\n  agents: 2 (1 lost)\n",
		"\n    127.0.0.2:7070 (lg-agent-1)  0/2  complete  5000 requests  coverage 100.00% (2500 of 2500)\n",
		"\n    127.0.0.3:7070 (lg-agent-2)  1/2  lost      3994 requests  coverage  79.88% (1997 of 2500)  lost at 40.0 s: no heartbeat for 5s: connection reset by peer\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if g, a, th := strings.Index(out, "  generator:"), strings.Index(out, "  agents:"), strings.Index(out, "  THRESHOLDS"); !(g < a && a < th) {
		t.Errorf("agents section at %d, want between generator (%d) and thresholds (%d)", a, g, th)
	}

	// Without a name, only the address; without lost agents, "0 lost".
	s := Build(Run{Status: "passed", Agents: []Agent{{Addr: "10.0.0.1:7070", Segment: "0/1", Status: AgentComplete, Planned: 10, Started: 10, Requests: 10}}})
	b.Reset()
	if err := WriteText(&b, s, true); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"  agents: 1 (0 lost)\n", "    10.0.0.1:7070  0/1  complete  10 requests  coverage 100.00% (10 of 10)\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}

	// A single-host run has no agents section.
	b.Reset()
	if err := WriteText(&b, Build(testRun(t)), false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "agents:") {
		t.Error("single-host summary has an agents section")
	}
}

// TestAgentsHTML: the page has an Agents table with the lost agent's row
// highlighted, and none for a single-host run.
func TestAgentsHTML(t *testing.T) {
	b := htmlOf(t, Build(agentsRun(t)))
	for _, want := range []string{
		`<section class="card" id="agents">`,
		`<h2>Agents <span class="muted">2 (1 lost)</span></h2>`,
		`<tr><td class="mono nowrap">127.0.0.2:7070</td><td class="nowrap">lg-agent-1</td><td class="mono">0/2</td><td><span class="pill ok">complete</span></td><td class="num">5000</td><td class="num">100.00% (2500 of 2500)</td><td class="wrap"></td></tr>`,
		`<tr class="lost"><td class="mono nowrap">127.0.0.3:7070</td>`,
		`<span class="pill bad">lost</span>`,
		`<td class="num">79.88% (1997 of 2500)</td><td class="wrap">lost at 40.0 s: no heartbeat for 5s: connection reset by peer</td>`,
		"tr.lost td { background: var(--bad-bg); }",
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("HTML lacks %s", want)
		}
	}
	checkSelfContained(t, b)

	single := htmlOf(t, Build(testRun(t)))
	if bytes.Contains(single, []byte(`id="agents"`)) || bytes.Contains(single, []byte("tr.lost")) {
		t.Error("single-host page has an agents table")
	}

	// Agent names come from the network: escaped, never markup.
	s := Build(agentsRun(t))
	s.Agents[1].Name = `<script>alert(1)</script>`
	s.Agents[1].Reason = `<img src=x onerror=alert(2)>`
	evil := htmlOf(t, s)
	if bytes.Contains(evil, []byte("<script")) || bytes.Contains(evil, []byte("<img")) {
		t.Error("agent fields are rendered as markup")
	}
	checkSelfContained(t, evil)
}

// TestAgentsJUnit: one loadgate.agents test case per agent; a lost agent
// fails with its reason as the message.
func TestAgentsJUnit(t *testing.T) {
	b := junitOf(t, Build(agentsRun(t)))
	doc := parseJUnit(t, b)
	s := doc.Suites[0]
	var agents []junitCase
	for _, c := range s.Cases {
		if c.Classname == "loadgate.agents" {
			agents = append(agents, c)
		}
	}
	if len(agents) != 2 {
		t.Fatalf("%d agent test cases, want 2", len(agents))
	}
	if c := agents[0]; c.Name != "agent 127.0.0.2:7070" || c.Failure != nil || c.Skipped != nil ||
		!strings.Contains(plain(t, c.SystemOut), "segment 0/2, complete: 5000 requests in 50 intervals, coverage 100.00% (2500 of 2500)") {
		t.Errorf("complete agent: %+v (system-out %q)", c, plain(t, c.SystemOut))
	}
	c := agents[1]
	if c.Name != "agent 127.0.0.3:7070" || c.Failure == nil {
		t.Fatalf("lost agent: %+v, want a failure", c)
	}
	if c.Failure.Message != "no heartbeat for 5s: connection reset by peer" || c.Failure.Type != "agent_lost" {
		t.Errorf("lost agent failure %+v, want the reason as message", c.Failure)
	}
	if body := plain(t, &junitText{Text: c.Failure.Text}); !strings.Contains(body, "lost at 40.0 s") || !strings.Contains(body, "coverage 79.88%") {
		t.Errorf("lost agent failure text %q", body)
	}
	// 8 cases of the single-host run (2 failing, 1 skipped) plus the agents.
	if s.Tests != 10 || s.Failures != 3 || s.Skipped != 1 {
		t.Errorf("tests/failures/skipped = %d/%d/%d, want 10/3/1", s.Tests, s.Failures, s.Skipped)
	}
	checkJUnit(t, b)
	validateXSD(t, b)

	// A lost agent without a reason still fails, with a message; hostile
	// text stays well-formed and valid.
	sum := Build(agentsRun(t))
	sum.Agents[1].Reason = ""
	sum.Agents = append(sum.Agents, Agent{Addr: "h\x00<x>&:1", Name: "\xff", Segment: "2/3", Status: AgentLost, Reason: "a\"b'<c>&d]]>\x1b"})
	b = junitOf(t, sum)
	cases := parseJUnit(t, b).Suites[0].Cases
	if f := cases[len(cases)-2].Failure; f == nil || f.Message != "lost" {
		t.Errorf("lost agent without a reason: failure %+v, want message \"lost\"", f)
	}
	checkJUnit(t, b)
	validateXSD(t, b)
}

// TestMergeAgents: merging distributed runs lists their agents one after
// the other, in the order of the inputs; single-host inputs add none.
func TestMergeAgents(t *testing.T) {
	// Input 0 ran on the lost agent, input 1 on one host, input 2 on the
	// complete agent: input order, not address order.
	agents := [][]Agent{{testAgents()[1]}, nil, {testAgents()[0]}}
	var in []*Summary
	for j := 0; j < 3; j++ {
		r := shardRun(t, j, 3)
		r.Agents = agents[j]
		in = append(in, Build(r))
	}
	m, err := Merge(in, MergeOptions{Tool: "loadgate"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range m.Summary.Agents {
		got = append(got, a.Addr+" "+a.Status)
	}
	if want := []string{"127.0.0.3:7070 lost", "127.0.0.2:7070 complete"}; !reflect.DeepEqual(got, want) {
		t.Errorf("merged agents %v, want %v", got, want)
	}
	in[0].Agents[0].Addr = "changed"
	if m.Summary.Agents[0].Addr == "changed" {
		t.Error("the merged Summary shares its agents with an input")
	}

	m, err = Merge([]*Summary{Build(shardRun(t, 0, 2)), Build(shardRun(t, 1, 2))}, MergeOptions{Tool: "loadgate"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Summary.Agents != nil {
		t.Errorf("single-host inputs: merged agents %v, want nil", m.Summary.Agents)
	}
}
