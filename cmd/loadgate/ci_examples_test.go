package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The files of examples/ci and how many loadgate command lines each holds.
var ciFiles = map[string]int{
	"gitlab-ci.yml":               2,
	"github-actions.yml":          1,
	"Jenkinsfile":                 1,
	"argo-analysis-template.yaml": 1,
	"kubernetes-job.yaml":         1,
}

// TestCIExamples checks the pipeline files of examples/ci: the YAML ones
// parse, and every loadgate command line in them is accepted: its
// subcommand exists, its flags parse as the command parses them (with the
// LOADGATE_ environment binding), and the scenario it names, mapped to
// examples/, validates with its -e values.
func TestCIExamples(t *testing.T) {
	entries, err := os.ReadDir("../../examples/ci")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, e := range entries {
		name := e.Name()
		want, ok := ciFiles[name]
		if !ok {
			t.Errorf("examples/ci/%s is not in ciFiles: add it with its number of command lines", name)
			continue
		}
		seen++
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("../../examples/ci", name))
			if err != nil {
				t.Fatal(err)
			}
			var lines [][]string
			if strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".yaml") {
				lines = yamlCommands(t, b)
			} else {
				lines = textCommands(string(b))
			}
			if len(lines) != want {
				t.Fatalf("found %d loadgate command lines, want %d: %q", len(lines), want, lines)
			}
			for _, args := range lines {
				checkCommandLine(t, args)
			}
		})
	}
	if seen != len(ciFiles) {
		t.Errorf("examples/ci has %d of the %d files of ciFiles", seen, len(ciFiles))
	}
}

// yamlCommands parses every document of a YAML file and collects loadgate
// command lines from its strings (shell scripts) and from the args of any
// container whose image is loadgate (it has no shell).
func yamlCommands(t *testing.T, b []byte) [][]string {
	t.Helper()
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	var out [][]string
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("YAML: %v", err)
		}
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			switch n.Kind {
			case yaml.ScalarNode:
				out = append(out, textCommands(n.Value)...)
				return
			case yaml.MappingNode:
				if args := containerArgs(n); args != nil {
					out = append(out, append([]string{"loadgate"}, args...))
				}
			}
			for _, c := range n.Content {
				walk(c)
			}
		}
		walk(&doc)
	}
	return out
}

// containerArgs returns the args of a container mapping whose image is
// loadgate's, or nil.
func containerArgs(n *yaml.Node) []string {
	var image string
	var args []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		switch {
		case k == "image" && v.Kind == yaml.ScalarNode:
			image = v.Value
		case k == "args" && v.Kind == yaml.SequenceNode:
			for _, a := range v.Content {
				args = append(args, pipelineVar.ReplaceAllString(a.Value, "http://example.invalid"))
			}
		}
	}
	if !strings.Contains(image, "loadgate") || args == nil {
		return nil
	}
	return args
}

var commandLine = regexp.MustCompile(`^(?:\S+/)?loadgate\s+(.*)$`)

// textCommands finds shell command lines that run loadgate in a script:
// backslash continuations joined, a YAML list dash allowed in front.
func textCommands(s string) [][]string {
	s = strings.ReplaceAll(s, "\\\n", " ")
	var out [][]string
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "- ")
		if m := commandLine.FindStringSubmatch(line); m != nil {
			out = append(out, append([]string{"loadgate"}, shellWords(m[1])...))
		}
	}
	return out
}

// pipelineVar matches the variables of shells and CI systems:
// $X, ${X}, ${{ expr }} (GitHub) and {{args.x}} (Argo).
var pipelineVar = regexp.MustCompile(`\$\{\{[^}]*\}\}|\{\{[^}]*\}\}|\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*`)

// shellWords splits a command line as a shell would, for the simple lines of
// pipeline files: quotes, no expansions (variables become a URL, which is
// what the examples pass through them).
func shellWords(s string) []string {
	s = pipelineVar.ReplaceAllString(s, "http://example.invalid")
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// checkCommandLine checks one loadgate command line without running a load.
func checkCommandLine(t *testing.T, args []string) {
	t.Helper()
	if len(args) < 2 {
		t.Fatalf("%q: no subcommand", args)
	}
	sub, rest := args[1], args[2:]
	if _, ok := commands[sub]; !ok {
		t.Fatalf("%q: unknown subcommand %q", args, sub)
	}
	var scenario string
	var env []string
	switch sub {
	case "run":
		// The flags as runCmd parses and resolves them; the baseline file
		// is the pipeline's, so only its presence is kept.
		fs := newFlagSet("run", "", io.Discard, io.Discard)
		var f runFlags
		f.register(fs, true)
		if done, err := parseFlags(fs, rest); done || err != nil {
			t.Fatalf("%q: flags: %v (help: %v)", args, err, done)
		}
		f.baselines = nil
		if err := f.resolve(io.Discard); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if fs.NArg() != 1 {
			t.Fatalf("%q: want one scenario, got %q", args, fs.Args())
		}
		scenario, env = fs.Arg(0), f.env
	case "validate":
		scenario = rest[0]
		env = rest[1:]
	default:
		checkFlags(t, args)
		return
	}
	// Scenarios come from the repository (examples/) or a ConfigMap of it.
	local := filepath.Join("../../examples", filepath.Base(scenario))
	if _, err := os.Stat(local); err != nil {
		t.Fatalf("%q: scenario %s is not one of examples/", args, scenario)
	}
	vargs := []string{"validate", local}
	if sub == "run" {
		for _, e := range env {
			vargs = append(vargs, "-e", e)
		}
	} else {
		vargs = append(vargs, env...)
	}
	cmd := exec.Command(binary, vargs...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%q: loadgate %q: %v\n%s", args, vargs, err, out)
	}
}

// checkFlags checks the flags of a command that names no scenario: they
// parse as the command parses them. With --help after them, pflag parses
// every flag before it and then stops (pflag.ErrHelp), so the command prints
// its usage and does nothing else.
func checkFlags(t *testing.T, args []string) {
	t.Helper()
	var usage strings.Builder
	err := commands[args[1]].run(append(args[2:len(args):len(args)], "--help"), &usage, io.Discard) // --help prints on stdout
	if err != nil || !strings.Contains(usage.String(), "usage: loadgate "+args[1]) {
		t.Fatalf("%q: flags: %v\n%s", args, err, usage.String())
	}
}
