package engine

import (
	"errors"
	"testing"
	"time"
)

// FuzzCondition compiles arbitrary condition text against a flow with a
// capture, a feeder and the built-ins, as a scenario's if: would be: the
// compiler must never panic, an error must be a LogicError naming its key
// and step, its offset inside the text; and a condition that compiles
// must run against any captured value without panicking (a run-time
// error ends the iteration, it does not crash the worker).
func FuzzCondition(f *testing.F) {
	for _, s := range []string{
		`token == "x"`, `int(n) > 5 && status == 200`, `items.id != "" || index % 2 == 0`,
		`len(token) > 3 and not (vu == 1)`, `lower(token) startsWith "a"`, `float(n) / 0 > 1`,
		`token ==`, `(((`, `now() > 0`, `items.nope`, `"é" + token == "é"`, `token in ["a", "b"]`,
		`token matches "^[a-z]+$"`, `iteration > 1e9`, "tok\x00en", `int("x") > 1`, `{{ token }}`,
	} {
		f.Add(s, "42")
	}
	data := []Feeder{{Name: "items", Columns: []string{"id"}, Rows: [][]string{{"a"}, {"b"}}}}
	f.Fuzz(func(t *testing.T, src, value string) {
		fl := Flow{Name: "f", Weight: 1, Steps: []Step{
			{Name: "login", Method: "GET", URL: "http://h/", Captures: []Capture{
				{Name: "token", From: CaptureJSON, Expr: "$.t"}, {Name: "n", From: CaptureJSON, Expr: "$.n"}}},
			{Name: "s", Method: "GET", URL: "http://h/s", Logic: &Logic{If: src}},
		}}
		fp, err := compileLogic(&fl, data)
		if err != nil {
			var le *LogicError
			if !errors.As(err, &le) {
				t.Fatalf("compile %q: %v is not a LogicError", src, err)
			}
			if le.Key != "if" || le.Step != 1 || le.Msg == "" {
				t.Fatalf("compile %q: key %q step %d msg %q", src, le.Key, le.Step, le.Msg)
			}
			if le.Offset < 0 || le.Offset > len(src) {
				t.Fatalf("compile %q: offset %d outside the text", src, le.Offset)
			}
			return
		}
		c := fp.nodes[1].when
		if c == nil && src != "" {
			t.Fatalf("compile %q: no condition", src)
		}
		if c == nil {
			return // "" is no condition
		}
		// Run it as a worker would, with value captured.
		r := &run{plan: &Plan{Data: data}, rec: newRecorder(&Plan{Flows: []Flow{fl}}, 1)}
		r.flows = []*flowPlan{{}}
		w := &worker{r: r, v: vars{captures: [][]byte{[]byte(value), []byte(value)}, rows: []int{1}, feeders: data}}
		ls := w.logicState(0, fp)
		it := &iterRun{ls: ls}
		done := make(chan struct{})
		go func() {
			defer close(done)
			w.eval(c, it, &fp.nodes[1])
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("condition %q ran for 10s", src)
		}
	})
}
