package report

import (
	"bytes"
	"testing"
)

// TestCapacityGolden: the text, JSON and JUnit reports of a capacity
// search (issue 18; docs/capacity.md, "Reports").
func TestCapacityGolden(t *testing.T) {
	s := Build(capacityRun(t))
	var txt, js, ju bytes.Buffer
	if err := WriteText(&txt, s, false); err != nil {
		t.Fatal(err)
	}
	golden(t, "capacity.txt", txt.Bytes())
	if err := WriteJSON(&js, s); err != nil {
		t.Fatal(err)
	}
	golden(t, "capacity.json", js.Bytes())
	if err := WriteJUnit(&ju, s); err != nil {
		t.Fatal(err)
	}
	golden(t, "capacity.junit.xml", ju.Bytes())
	checkJUnit(t, ju.Bytes())
	validateXSD(t, ju.Bytes())
}
