package engine

// Flow logic in a plan: repetition, conditions and an early end of the
// iteration, on a step or on a group of consecutive steps (one level: groups
// do not nest). Kept as declarative data, the conditions as the text the
// user wrote; compileLogic (logic.go) compiles them once per run.
// docs/scenario-reference.md "Flow logic".

import "fmt"

// MaxRepeat bounds the repetitions of one step or group, so that an
// iteration always ends; the run's stop interrupts it between steps too.
const MaxRepeat = 1000

// Logic is what a step or a group does beyond running once. The zero value
// runs it once.
type Logic struct {
	// If is a condition checked before the step or group: when it is false
	// the step or group (all its repetitions) is skipped.
	If string
	// Repeat is how many times the step or group runs; 0 runs it once, or
	// once per row of Over.
	Repeat int
	// Over names a feeder: each repetition takes the next row of it (in the
	// feeder's order), so {{ over.column }} changes from one to the next.
	Over string
	// Until is checked after each repetition: when it holds, the repetition
	// ends (the iteration goes on with what follows).
	Until string
	// StopIf is checked after each run of the step or group (after its
	// captures): when it holds, the iteration ends there, as a success.
	StopIf string
}

// IsZero reports whether l adds nothing to a step.
func (l *Logic) IsZero() bool { return l == nil || *l == Logic{} }

// Group is a run of consecutive steps, Steps[From:To] of its flow, that its
// Logic repeats or skips as one. The steps keep their own names and
// metrics; a group has none of its own.
type Group struct {
	Name     string
	From, To int
	Logic    Logic
}

// hasLogic reports whether f needs the interpreter: any group or any step
// with logic. A flow without is run by worker.iterate's plain loop.
func (f *Flow) hasLogic() bool {
	if len(f.Groups) > 0 {
		return true
	}
	for i := range f.Steps {
		if !f.Steps[i].Logic.IsZero() {
			return true
		}
	}
	return false
}

// validateGroups checks that f's groups are ordered, non-empty,
// non-overlapping ranges of its steps.
func (f *Flow) validateGroups() error {
	last := 0
	for _, g := range f.Groups {
		if g.From < last || g.To <= g.From || g.To > len(f.Steps) {
			return fmt.Errorf("engine: flow %q group %q: steps %d..%d are not a range of the flow's %d steps after the previous group", f.Name, g.Name, g.From, g.To, len(f.Steps))
		}
		last = g.To
	}
	return nil
}
