package cluster

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/loadgate/loadgate/engine"
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
