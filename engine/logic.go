package engine

// The flow-logic interpreter: a flow with repeats, conditions or groups
// (plan_logic.go) is compiled here once per run into a small tree of nodes,
// and worker.interpret walks it. A flow without logic never comes here: it
// keeps worker.iterate's plain loop and its zero allocations per request.
//
// Conditions are expr-lang expressions (docs/scenario-reference.md "Flow
// logic"), type-checked at compile against the flow's names: its captures
// (strings), its feeders (feeder.column, strings) and the built-ins
// iteration, vu, status and index (integers). An unknown name or a type
// error is an error at load, with its offset in the expression.

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// Names of a condition's environment besides captures and feeders.
const (
	condIteration = "iteration" // the iteration's number
	condVU        = "vu"        // the worker's number
	condStatus    = "status"    // HTTP status of the last step run, 0 without one
	condIndex     = "index"     // repetition of the innermost repeat, from 0
)

// CondBuiltins lists the built-in names of a condition (for docs and
// suggestions).
var CondBuiltins = []string{condIteration, condVU, condStatus, condIndex}

// CondFuncs are the expr built-in functions a condition may call: pure,
// bounded functions on strings and numbers. The others (now, date, range,
// repeat, JSON, ...) are disabled: a condition reads the iteration's
// values and nothing else.
var CondFuncs = []string{
	"int", "float", "string", "len", "lower", "upper", "trim", "trimPrefix", "trimSuffix",
	"hasPrefix", "hasSuffix", "indexOf", "abs", "min", "max", "ceil", "floor", "round",
}

// maxCondNodes bounds the size of one condition (expr's AST nodes).
const maxCondNodes = 1000

// LogicError is an error in a flow's logic at load: which step (or group)
// and key, and for a condition the byte offset in its text.
type LogicError struct {
	Step  int    // index of the step, or -1
	Group int    // index of the group, or -1
	Key   string // if, stop_iteration_if, until, repeat, over
	// Offset is the byte offset in the condition's text (Pos set), else 0.
	Offset int
	Pos    bool
	Msg    string
}

func (e *LogicError) Error() string { return e.Key + ": " + e.Msg }

// CheckLogic compiles the logic of flow f against data as a run would, and
// returns its first error (a *LogicError) or nil. The scenarios package
// calls it to report the error at its place in the file.
func CheckLogic(f *Flow, data []Feeder) error {
	if !f.hasLogic() {
		return nil
	}
	if err := f.validateGroups(); err != nil {
		return err
	}
	_, err := compileLogic(f, data)
	return err
}

// cond is a compiled condition.
type cond struct {
	src  string
	key  string
	prog *vm.Program
	// names are the environment names it reads, filled before each run.
	names []condName
}

// condName is one name of a condition's environment and where its value
// comes from.
type condName struct {
	name string
	kind uint8 // nameCapture, nameFeeder, nameIteration, nameVU, nameStatus, nameIndex
	slot int   // capture slot or feeder index
}

const (
	nameCapture uint8 = iota
	nameFeeder
	nameIteration
	nameVU
	nameStatus
	nameIndex
)

// lnode is a step or a group with its logic.
type lnode struct {
	step       int     // the step (-1 for a group)
	body       []lnode // a group's steps
	count      int     // repetitions (at least 1)
	over       int     // feeder taken per repetition, -1 for none
	when       *cond   // if
	until      *cond   // until
	stop       *cond   // stop_iteration_if
	hasLogic   bool    // any of the above beyond one run
	stepOrName string  // for messages
}

// flowLogic is a compiled flow with logic.
type flowLogic struct {
	nodes []lnode
	// over are the feeders taken per repetition: not picked when the
	// iteration begins, and empty until their loop takes a row.
	over []int
	// names is the environment's shape for expr's checker; each worker
	// builds its own copy (logicState).
	names map[string]condName
	// feeders are the feeders a condition reads, by index.
	feeders []int
}

// logicCompiler compiles one flow's logic.
type logicCompiler struct {
	f     *Flow
	data  []Feeder
	fl    *flowLogic
	env   map[string]any // types for expr's checker
	slots map[string]int // capture name → slot, as compileFlow numbers them
	used  map[int]bool   // feeders conditions read
}

// compileLogic compiles f's logic; f has logic (hasLogic). Capture slots
// are numbered as compileFlow numbers them: in order of first capture.
func compileLogic(f *Flow, data []Feeder) (*flowLogic, error) {
	lc := &logicCompiler{f: f, data: data, fl: &flowLogic{names: map[string]condName{}},
		env: map[string]any{}, slots: map[string]int{}, used: map[int]bool{}}
	for _, b := range CondBuiltins {
		lc.env[b] = 0
	}
	lc.fl.names[condIteration] = condName{name: condIteration, kind: nameIteration}
	lc.fl.names[condVU] = condName{name: condVU, kind: nameVU}
	lc.fl.names[condStatus] = condName{name: condStatus, kind: nameStatus}
	lc.fl.names[condIndex] = condName{name: condIndex, kind: nameIndex}
	for di, d := range data {
		cols := make(types.Map, len(d.Columns))
		for _, c := range d.Columns {
			cols[c] = types.String
		}
		lc.env[d.Name] = cols // strict: an unknown column is an error
		lc.fl.names[d.Name] = condName{name: d.Name, kind: nameFeeder, slot: di}
	}
	// Every capture of the flow is a name (a capture not taken yet in
	// this iteration is ""); a capture shadows a feeder or built-in of
	// its name.
	for si := range f.Steps {
		for _, c := range f.Steps[si].Captures {
			if _, ok := lc.slots[c.Name]; !ok {
				lc.slots[c.Name] = len(lc.slots)
			}
			lc.env[c.Name] = ""
			lc.fl.names[c.Name] = condName{name: c.Name, kind: nameCapture, slot: lc.slots[c.Name]}
		}
	}
	gi := 0
	for si := 0; si < len(f.Steps); {
		if gi < len(f.Groups) && f.Groups[gi].From == si {
			g := &f.Groups[gi]
			n, err := lc.node(-1, gi, &g.Logic)
			if err != nil {
				return nil, err
			}
			n.stepOrName = g.Name
			for s := g.From; s < g.To; s++ {
				c, err := lc.node(s, -1, f.Steps[s].Logic)
				if err != nil {
					return nil, err
				}
				n.body = append(n.body, c)
			}
			lc.fl.nodes = append(lc.fl.nodes, n)
			si, gi = g.To, gi+1
			continue
		}
		n, err := lc.node(si, -1, f.Steps[si].Logic)
		if err != nil {
			return nil, err
		}
		lc.fl.nodes = append(lc.fl.nodes, n)
		si++
	}
	for di := range data {
		if lc.used[di] {
			lc.fl.feeders = append(lc.fl.feeders, di)
		}
	}
	return lc.fl, nil
}

// node compiles the logic of step si (or group gi when si < 0).
func (lc *logicCompiler) node(si, gi int, l *Logic) (lnode, error) {
	n := lnode{step: si, count: 1, over: -1}
	if si >= 0 {
		n.stepOrName = lc.f.Steps[si].Name
	}
	if l.IsZero() {
		return n, nil
	}
	n.hasLogic = true
	fail := func(key, format string, args ...any) error {
		return &LogicError{Step: si, Group: gi, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	if l.Repeat < 0 || l.Repeat > MaxRepeat {
		return n, fail("repeat", "%d repetitions: want 1 to %d", l.Repeat, MaxRepeat)
	}
	if l.Repeat > 0 {
		n.count = l.Repeat
	}
	if l.Over != "" {
		di := -1
		for i := range lc.data {
			if lc.data[i].Name == l.Over {
				di = i
			}
		}
		switch {
		case di < 0:
			return n, fail("over", "no data named %q to repeat over", l.Over)
		case l.Repeat == 0 && len(lc.data[di].Rows) > MaxRepeat:
			return n, fail("over", "data %q has %d rows, more than the %d repetitions a loop may make: give repeat a count", l.Over, len(lc.data[di].Rows), MaxRepeat)
		case l.Repeat == 0:
			n.count = len(lc.data[di].Rows)
		}
		for _, o := range lc.fl.over {
			if o == di {
				return n, fail("over", "data %q is repeated over by two loops of the flow: each loop needs its own data", l.Over)
			}
		}
		n.over = di
		lc.fl.over = append(lc.fl.over, di)
	}
	var err error
	if n.when, err = lc.cond(si, gi, "if", l.If); err != nil {
		return n, err
	}
	if n.until, err = lc.cond(si, gi, "until", l.Until); err != nil {
		return n, err
	}
	if n.stop, err = lc.cond(si, gi, "stop_iteration_if", l.StopIf); err != nil {
		return n, err
	}
	if l.Until != "" && n.count == 1 && l.Over == "" {
		return n, fail("until", "until ends a repetition: give repeat a count above 1 (the most repetitions)")
	}
	return n, nil
}

// cond compiles one condition; "" is none.
func (lc *logicCompiler) cond(si, gi int, key, src string) (*cond, error) {
	if src == "" {
		return nil, nil
	}
	c, err := lc.compileCond(key, src)
	if err != nil {
		var le *LogicError
		if errors.As(err, &le) {
			le.Step, le.Group = si, gi
		}
		return nil, err
	}
	return c, nil
}

// condOptions are the compile options of every condition.
func condOptions(env map[string]any) []expr.Option {
	opts := []expr.Option{expr.Env(env), expr.AsBool(), expr.MaxNodes(maxCondNodes), expr.DisableAllBuiltins()}
	for _, f := range CondFuncs {
		opts = append(opts, expr.EnableBuiltin(f))
	}
	return opts
}

// compileCond compiles src as a boolean condition over lc's environment.
func (lc *logicCompiler) compileCond(key, src string) (*cond, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &LogicError{Key: key, Msg: "empty condition"}
	}
	prog, err := expr.Compile(src, condOptions(lc.env)...)
	if err != nil {
		return nil, condError(key, src, err)
	}
	c := &cond{src: src, key: key, prog: prog}
	seen := map[string]bool{}
	ast.Find(prog.Node(), func(n ast.Node) bool {
		id, ok := n.(*ast.IdentifierNode)
		if !ok || seen[id.Value] {
			return false
		}
		if id.Value == "$env" {
			// $env["first-id"] reads any name: fill them all.
			for _, nm := range lc.fl.names {
				if !seen[nm.name] {
					seen[nm.name] = true
					c.names = append(c.names, nm)
					if nm.kind == nameFeeder {
						lc.used[nm.slot] = true
					}
				}
			}
			return false
		}
		if nm, ok := lc.fl.names[id.Value]; ok {
			seen[id.Value] = true
			c.names = append(c.names, nm)
			if nm.kind == nameFeeder {
				lc.used[nm.slot] = true
			}
		}
		return false
	})
	return c, nil
}

// condError turns expr's error into a LogicError at its byte offset.
func condError(key, src string, err error) error {
	le := &LogicError{Key: key, Msg: err.Error()}
	var fe *file.Error
	if errors.As(err, &fe) {
		le.Msg, le.Pos = fe.Message, true
		// From counts runes; the offset is in bytes.
		off, runes := 0, 0
		for off < len(src) && runes < fe.From {
			_, size := utf8.DecodeRuneInString(src[off:])
			off += size
			runes++
		}
		le.Offset = off
	}
	return le
}

// logicState is one worker's evaluation state for one flow with logic: its
// expr VM (reused, so its stack is too) and its environment, whose entries
// are overwritten before each evaluation with the names the condition
// reads.
type logicState struct {
	vm      vm.VM
	env     map[string]any
	feeders map[int]map[string]any // the environment's feeder maps
	index   int                    // repetition of the innermost repeat
	status  int                    // status of the last step run
}

// logicState returns w's state for flow fi, made on first use.
func (w *worker) logicState(fi int, fl *flowLogic) *logicState {
	if w.logic == nil {
		w.logic = make([]*logicState, len(w.r.flows))
	}
	if ls := w.logic[fi]; ls != nil {
		return ls
	}
	ls := &logicState{env: make(map[string]any, len(fl.names)), feeders: map[int]map[string]any{}}
	for name, nm := range fl.names {
		switch nm.kind {
		case nameCapture:
			ls.env[name] = ""
		case nameFeeder:
			cols := make(map[string]any, len(w.r.plan.Data[nm.slot].Columns))
			for _, c := range w.r.plan.Data[nm.slot].Columns {
				cols[c] = ""
			}
			ls.env[name], ls.feeders[nm.slot] = cols, cols
		default:
			ls.env[name] = 0
		}
	}
	w.logic[fi] = ls
	return ls
}

// iterRun is the state of one interpreted iteration.
type iterRun struct {
	fi        int
	due, end  time.Duration
	think     time.Duration // think time after the last step run
	sent      bool          // a step was run
	cut       bool          // the run stopped it: not recorded as an iteration
	ls        *logicState
	intended  time.Duration
	condError bool
}

// interpret runs flow fi, which has logic, once (after begin): it is
// worker.iterate's loop with repeats, conditions and an early end. Think
// times apply between two steps run, as in the plain loop. It records the
// iteration unless the run stopped it.
func (w *worker) interpret(fi int, fl *flowLogic, intended time.Duration) time.Duration {
	r := w.r
	ls := w.logicState(fi, fl)
	// Captures start empty: a step skipped by its condition must not leave
	// a template the value of an earlier iteration.
	for i := range w.v.captures {
		w.v.captures[i] = w.v.captures[i][:0]
	}
	for _, di := range fl.over {
		w.v.rows[di] = -1
	}
	ls.index, ls.status = 0, 0
	it := iterRun{fi: fi, due: intended, end: intended, ls: ls, intended: intended}
	for i := range fl.nodes {
		if !w.runNode(&fl.nodes[i], &it) {
			break
		}
	}
	if !it.cut && !r.hardStopped() {
		w.shard.recordIteration(fi, it.end-intended)
	}
	return it.end
}

// runNode runs one step or group with its logic. It reports whether the
// iteration goes on.
func (w *worker) runNode(n *lnode, it *iterRun) bool {
	ls := it.ls
	if n.when != nil {
		ok, good := w.eval(n.when, it, n)
		if !good {
			return false
		}
		if !ok {
			return true
		}
	}
	outer := ls.index
	defer func() { ls.index = outer }()
	for rep := 0; rep < n.count; rep++ {
		ls.index = rep
		if n.over >= 0 {
			f := &w.r.plan.Data[n.over]
			row, ok := w.r.cursors.pick(f, n.over, &w.rng)
			if !ok {
				w.r.exhaust(f)
				it.cut = true
				return false
			}
			w.v.rows[n.over] = row
		}
		if n.step >= 0 {
			if !w.runStep(n.step, it) {
				return false
			}
		} else {
			for j := range n.body {
				if !w.runNode(&n.body[j], it) {
					return false
				}
			}
			ls.index = rep
		}
		if n.stop != nil {
			if stop, good := w.eval(n.stop, it, n); stop || !good {
				return false
			}
		}
		if n.until != nil {
			done, good := w.eval(n.until, it, n)
			if !good {
				return false
			}
			if done {
				break
			}
		}
	}
	return true
}

// runStep sends step si, after the think time of the step before it. It
// reports whether the iteration goes on.
func (w *worker) runStep(si int, it *iterRun) bool {
	r := w.r
	if it.sent {
		if r.stopping() {
			it.cut = true // a stopped run starts no new requests
			return false
		}
		if it.think > 0 && !w.sleep(it.think) {
			it.cut = true
			return false
		}
		it.due = it.end + it.think
	}
	it.sent = true
	w.status = 0
	end, more := w.send(it.fi, si, it.due)
	it.end, it.ls.status = end, w.status
	it.think = w.think(r.steps[it.fi][si].step)
	return more
}

// eval runs condition c with the iteration's values. good is false when it
// failed at run time (int() of a value that is not a number): the
// iteration ends there, as after a capture that found nothing, and the
// first message is kept as the capture class's sample.
func (w *worker) eval(c *cond, it *iterRun, n *lnode) (val, good bool) {
	ls := it.ls
	for _, nm := range c.names {
		switch nm.kind {
		case nameCapture:
			ls.env[nm.name] = string(w.v.captures[nm.slot])
		case nameFeeder:
			cols := ls.feeders[nm.slot]
			f := &w.r.plan.Data[nm.slot]
			row := w.v.rows[nm.slot]
			for ci, col := range f.Columns {
				if row < 0 || row >= len(f.Rows) {
					cols[col] = ""
				} else {
					cols[col] = f.Rows[row][ci]
				}
			}
		case nameIteration:
			ls.env[nm.name] = int(w.v.iter)
		case nameVU:
			ls.env[nm.name] = w.v.vu
		case nameStatus:
			ls.env[nm.name] = ls.status
		case nameIndex:
			ls.env[nm.name] = ls.index
		}
	}
	out, err := ls.vm.Run(c.prog, ls.env)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			err = errors.New(fe.Message)
		}
		if w.r.rec.samples[KindCapture].Load() == nil {
			w.r.rec.noteError(KindCapture, fmt.Errorf("%s %q: %s %s: %v; the iteration stopped there", map[bool]string{true: "step", false: "group"}[n.step >= 0], n.stepOrName, c.key, c.src, err))
		}
		return false, false
	}
	b, _ := out.(bool)
	return b, true
}

// compileLogic compiles f's logic into fp when f has any, and settles which
// feeders an iteration picks a row of when it begins: those its templates
// and conditions read, but not those a loop repeats over (each repetition
// takes its own row).
func (fp *flowPlan) compileLogic(f *Flow, data []Feeder, rs *resolver) error {
	if !f.hasLogic() {
		return nil
	}
	if err := f.validateGroups(); err != nil {
		return err
	}
	fl, err := compileLogic(f, data)
	if err != nil {
		where := ""
		var le *LogicError
		if errors.As(err, &le) {
			switch {
			case le.Step >= 0:
				where = fmt.Sprintf(" step %q", f.Steps[le.Step].Name)
			case le.Group >= 0:
				where = fmt.Sprintf(" group %q", f.Groups[le.Group].Name)
			}
		}
		return fmt.Errorf("engine: flow %q%s: %w", f.Name, where, err)
	}
	for _, di := range fl.feeders {
		rs.used[di] = true
	}
	for _, di := range fl.over {
		delete(rs.used, di)
	}
	fp.logic = fl
	return nil
}
