package cluster

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/histogram"
)

// wireKinds is the order of the outcome kinds in an interval's error
// counts (wireStep.Errors) and samples (intervalMsg.Errors) in protocol 1:
// kind i of an agent is kind i of the coordinator.
var wireKinds = []string{
	"ok", "refused", "reset", "timeout", "dns", "tls", "no_free_conn", "closed",
	"local_port", "fd", "4xx", "5xx", "status", "other", "truncated", "header_too_large", "protocol",
	"capture", "redirect_limit", "denied", "no_free_slot",
}

// TestWireKinds: the engine numbers its outcome kinds as protocol 1 does.
// A kind may be added at the end (an older peer refuses the longer array,
// as it should: the numbering is not its own); renumbering one changes
// the protocol.
func TestWireKinds(t *testing.T) {
	if int(engine.NumKinds) < len(wireKinds) {
		t.Fatalf("the engine has %d kinds, protocol 1 numbers %d", engine.NumKinds, len(wireKinds))
	}
	for i, name := range wireKinds {
		if got := engine.Kind(i).String(); got != name {
			t.Errorf("kind %d is %q in the engine, %q in protocol 1", i, got, name)
		}
	}
}

// TestIntervalCheckKeys: a step's check counts keep the keys protocol 1
// gave them, whatever engine.CheckCount's fields are called.
func TestIntervalCheckKeys(t *testing.T) {
	p := testPlan()
	p.Flows[0].Steps[0].Checks = []engine.Check{{Kind: engine.CheckStatus, Statuses: []int{200}}}
	per := period(p, 1, 4, 0)
	per.Steps[0][0].Checks = []engine.CheckCount{{Passed: 3, Total: 4}}
	w, err := encodePeriod(per)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"checks":[{"Passed":3,"Total":4}]`) {
		t.Errorf("interval %s: want the checks as {\"Passed\":3,\"Total\":4}", b)
	}
	back, err := decodePeriod(w, p)
	if err != nil {
		t.Fatal(err)
	}
	if c := back.Steps[0][0].Checks; len(c) != 1 || c[0] != (engine.CheckCount{Passed: 3, Total: 4}) {
		t.Errorf("decoded checks %+v", c)
	}
}

// TestIntervalWSStats: a WebSocket step's figures cross the wire (the
// coordinator refuses plans with WebSocket steps for now; the interval is
// ready for them), an HTTP step's interval carries no ws key, and counts
// that cannot be are refused.
func TestIntervalWSStats(t *testing.T) {
	p := testPlan()
	per := period(p, 1, 4, 0)
	w, err := encodePeriod(per)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(w); strings.Contains(string(b), `"ws"`) {
		t.Fatalf("an HTTP step's interval has a ws key: %s", b)
	}
	h := histogram.New()
	h.RecordN(3*time.Millisecond, 4)
	per.Steps[0][0].WS = engine.WSStats{Connect: h.Clone().Freeze(), Msg: h.Clone().Freeze(), MsgService: h.Clone().Freeze(),
		MsgsReceived: 40, MsgsSent: 8, Expected: 8, Missed: 1}
	if w, err = encodePeriod(per); err != nil {
		t.Fatal(err)
	}
	back, err := decodePeriod(w, p)
	if err != nil {
		t.Fatal(err)
	}
	got := back.Steps[0][0].WS
	if got.MsgsReceived != 40 || got.MsgsSent != 8 || got.Expected != 8 || got.Missed != 1 ||
		got.Connect.Count() != 4 || got.Msg.Count() != 4 || got.MsgService.Count() != 4 {
		t.Fatalf("decoded %+v", got)
	}
	w.Steps[0][0].WS.Missed = 9
	if _, err := decodePeriod(w, p); err == nil || !strings.Contains(err.Error(), "9 of 8") {
		t.Fatalf("more misses than expectations: %v", err)
	}
	w.Steps[0][0].WS.Missed, w.Steps[0][0].WS.MsgsSent = 0, -1
	if _, err := decodePeriod(w, p); err == nil {
		t.Fatal("a negative count was accepted")
	}
}
