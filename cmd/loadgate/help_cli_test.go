package main

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/loadgate/loadgate/internal/testtool"
)

// TestHelpExamples: the top-level help and every command's --help exit 0
// and show examples; the top-level help sums up the exit codes.
func TestHelpExamples(t *testing.T) {
	r := run(t, "--help")
	r.expect(t, exitPassed)
	for _, want := range []string{"examples:", "loadgate run examples/smoke.yaml", "exit codes: 0 passed, 1 a threshold failed", "completion"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("loadgate --help lacks %q on stdout:\n%s", want, r.stdout)
		}
	}
	for name := range commands {
		if name == "version" {
			continue // no flags
		}
		r := run(t, name, "--help")
		if r.code != exitPassed || !strings.Contains(r.stdout, "usage: loadgate "+name) || r.stderr != "" ||
			!strings.Contains(r.stdout, "examples:\n  ") || !strings.Contains(r.stdout, "loadgate "+name) {
			t.Errorf("loadgate %s --help: exit %d, want 0 with usage and examples on stdout:\n%s\nstderr: %q", name, r.code, r.stdout, r.stderr)
		}
	}
}

// complete runs the bash completion function on a command line (the last
// word is the one being completed) and returns the candidates.
func complete(t *testing.T, script string, words ...string) []string {
	t.Helper()
	line := script + "\nCOMP_WORDS=(" + strings.Join(words, " ") + ")\nCOMP_CWORD=" +
		strconv.Itoa(len(words)-1) + "\n_loadgate\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
	out, err := exec.Command(testtool.Need(t, "bash", "bash"), "-c", line).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

// TestCompletion: `loadgate completion bash` is valid bash (bash -n) and
// completes commands and each command's flags; zsh's script is checked with
// zsh -n. A missing bash or zsh fails the test where CI is set and skips it
// (zsh: its subtest) elsewhere (internal/testtool).
func TestCompletion(t *testing.T) {
	bash := testtool.Need(t, "bash", "bash")
	r := run(t, "completion", "bash")
	r.expect(t, exitPassed)
	check := exec.Command(bash, "-n")
	check.Stdin = strings.NewReader(r.stdout)
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"loadgate", "ru"}, "run"},
		{[]string{"loadgate", "compl"}, "completion"},
		{[]string{"loadgate", "run", "smoke.yaml", "--exit"}, "--exit-code-on-fail"},
		{[]string{"loadgate", "merge", "--f"}, "--force"},
		{[]string{"loadgate", "run", "-o", "ju"}, "junit="},
		{[]string{"loadgate", "completion", "z"}, "zsh"},
	} {
		got := complete(t, r.stdout, tc.words...)
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("completing %q: %q, want [%s]", tc.words, got, tc.want)
		}
	}
	z := run(t, "completion", "zsh")
	z.expect(t, exitPassed)
	if !strings.HasPrefix(z.stdout, "#compdef loadgate\n") {
		t.Fatalf("zsh script does not start with #compdef:\n%s", z.stdout)
	}
	t.Run("zsh -n", func(t *testing.T) {
		check := exec.Command(testtool.Need(t, "zsh", "zsh"), "-n")
		check.Stdin = strings.NewReader(z.stdout)
		if out, err := check.CombinedOutput(); err != nil {
			t.Fatalf("zsh -n: %v\n%s", err, out)
		}
	})
	if r := run(t, "completion", "fish"); r.code != exitInvalid {
		t.Fatalf("completion fish: exit %d, want 2", r.code)
	}
}
