package scenarios

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in scenarios/testdata/invalid")

const testdataDir = "testdata"

// testEnv is the environment the testdata files see: nothing from the
// process, so that a developer's BASE_URL cannot change a golden file.
func testEnv(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

var testVars = map[string]string{"PASSWORD": "hunter2", "API_TOKEN": "tok-123"}

// generated are invalid inputs too big or odd to keep as files; their
// goldens live next to the file cases.
var generated = map[string]func() []byte{
	// One byte over the limit, and otherwise valid.
	"oversized": func() []byte {
		head := "name: big\n# "
		return []byte(head + strings.Repeat("x", MaxFileSize+1-len(head)))
	},
	// Many entries in one list, under the size cap.
	"too_many_flows": func() []byte {
		var b strings.Builder
		b.WriteString("name: many\nload: { rate: 1, duration: 1s }\nflows:\n")
		for range maxItems + 1 {
			b.WriteString("  - { name: f, steps: [] }\n")
		}
		return []byte(b.String())
	},
}

// TestInvalid compares the errors of every invalid scenario with its golden
// file; go test ./scenarios -update rewrites them.
func TestInvalid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testdataDir, "invalid", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid testdata: %v", err)
	}
	cases := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cases[f] = data
	}
	for name, gen := range generated {
		cases[filepath.Join(testdataDir, "invalid", name+".yaml")] = gen()
	}
	for path, data := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			_, err := Parse(filepath.ToSlash(path), data, testEnv(testVars))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Parse = %v, want Errors", err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./scenarios -update)", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
			checkPositions(t, errs)
		})
	}
}

// checkPositions asserts the Errors contract: positions are 1-based and the
// list is sorted.
func checkPositions(t *testing.T, errs Errors) {
	t.Helper()
	for i, e := range errs {
		if e.Line < 1 || e.Col < 1 {
			t.Errorf("error without a position: %v", e)
		}
		if i > 0 && (errs[i-1].Line > e.Line || errs[i-1].Line == e.Line && errs[i-1].Col > e.Col) {
			t.Errorf("errors not sorted: %v before %v", errs[i-1], e)
		}
	}
}

// TestValid compiles every valid scenario.
func TestValid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testdataDir, "valid", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid testdata: %v", err)
	}
	files = append(files, "../examples/demo.yaml")
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			sc, err := Load(f, testEnv(testVars))
			if err != nil {
				t.Fatal(err)
			}
			if err := sc.Plan.Validate(); err != nil {
				t.Errorf("Plan.Validate: %v", err)
			}
			if len(sc.SHA256) != 64 || sc.Name == "" || sc.spec == nil {
				t.Errorf("incomplete scenario: name %q sha %q", sc.Name, sc.SHA256)
			}
		})
	}
}

// TestLoadLimits checks that Load does not read a giant file whole and
// reports it as invalid, and that a missing file is an I/O error.
func TestLoadLimits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, make([]byte, 3*MaxFileSize), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, nil)
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 || !strings.Contains(errs[0].Msg, "larger than the limit") {
		t.Errorf("Load(big) = %v", err)
	}
	_, err = Load(filepath.Join(t.TempDir(), "missing.yaml"), nil)
	if err == nil || errors.As(err, &errs) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want a wrapped os.ErrNotExist", err)
	}
}
