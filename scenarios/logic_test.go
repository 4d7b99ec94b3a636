package scenarios

import (
	"reflect"
	"testing"

	"github.com/loadgate/loadgate/engine"
)

// TestFlowLogicDecode: the flow logic of a file becomes the plan's, step
// for step, with the steps of a group in the flat list and the group as a
// range of them.
func TestFlowLogicDecode(t *testing.T) {
	sc := mustLoad(t, testdataDir+"/valid/flow_logic.yaml", testVars)
	f := sc.Plan.Flows[0]
	var names []string
	var logic []*engine.Logic
	for _, st := range f.Steps {
		names = append(names, st.Name)
		logic = append(logic, st.Logic)
	}
	if want := []string{"login", "poll", "user", "again", "end"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("steps %v, want %v", names, want)
	}
	want := []*engine.Logic{
		{StopIf: `role == "guest"`},
		{Repeat: 10, Until: `state == "done"`},
		{Over: "users"},
		{Repeat: 3, If: "index == 0"},
		nil,
	}
	if !reflect.DeepEqual(logic, want) {
		for i := range want {
			t.Errorf("step %s: logic %+v, want %+v", names[i], logic[i], want[i])
		}
	}
	if g := []engine.Group{{Name: "browse", From: 2, To: 4, Logic: engine.Logic{Repeat: 2, If: `role != "banned"`}}}; !reflect.DeepEqual(f.Groups, g) {
		t.Fatalf("groups %+v, want %+v", f.Groups, g)
	}
}
