// Command loadgate is a load generator with a streaming SLO evaluator: it
// runs YAML scenarios under an open model, measures latency without
// coordinated omission, gates on thresholds and writes reports. See
// `loadgate help`.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=..." (make
// build, the Dockerfile). Without it (go install, go build), init takes
// the module version from the build information: the tag of `go install
// ...@v1.2.3`, or the pseudo-version Go gives a commit
// (v0.0.0-20261203101500-993ee43abcde, +dirty when modified); "dev" when
// there is none.
var version = ""

func init() {
	bi, ok := debug.ReadBuildInfo()
	version = resolveVersion(version, bi, ok)
}

// resolveVersion is the version a user can report: the -ldflags one, else
// the module's from the build information, else "dev".
func resolveVersion(ldflags string, bi *debug.BuildInfo, ok bool) string {
	if ldflags != "" {
		return ldflags
	}
	if ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// buildDetails are the lines of `loadgate version` after the version: the
// commit and whether the tree was modified (from the build information;
// go build stamps them in a checkout), the Go version and the platform.
func buildDetails(bi *debug.BuildInfo, ok bool) []string {
	vcs := map[string]string{}
	if ok {
		for _, st := range bi.Settings {
			vcs[st.Key] = st.Value
		}
	}
	commit := "unknown (built without version control information)"
	if rev := vcs["vcs.revision"]; rev != "" {
		commit = rev
		if vcs["vcs.modified"] == "true" {
			commit += " (modified)"
		}
		if t := vcs["vcs.time"]; t != "" {
			commit += ", " + t
		}
	}
	return []string{
		"commit: " + commit,
		"go:     " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// command is one subcommand: one file each.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"run":      {"run a scenario: loadgate run SCENARIO.yaml [flags]", runCmd},
	"capacity": {"search the highest rate at which the SLO holds: loadgate capacity SCENARIO.yaml [--from R --max R] [flags]", capacityCmd},
	"validate": {"check a scenario and send nothing: loadgate validate SCENARIO.yaml", validateCmd},
	"demo":     {"run examples/demo.yaml against the built-in target", demoCmd},
	"target":   {"serve the built-in demo target: loadgate target [--listen ADDR] [--grpc-listen ADDR]", targetCmd},
	"report":   {"re-render a saved run: loadgate report RUN.json -o FORMAT=PATH ...", reportCmd},
	"version":  {"print the version", versionCmd},
	"compare":  {"regression check of two runs: loadgate compare BASE.json NEW.json [--max p95=+10%]...", compareCmd},
	"merge":    {"exact merge of runs from segments or hosts: loadgate merge A.json B.json ... -o FORMAT=PATH", mergeCmd},
	"agent":    {"serve as a load agent for a coordinator: loadgate agent [--listen ADDR] --token-file F [--tls-cert F --tls-key F --client-ca F] [--allow-target CIDR|HOST[:PORT]]...", agentCmd},
	"certs":    {"make a CA, coordinator and agent certificates and a token for distributed mode: loadgate certs --out DIR [--agent NAME]...", certsCmd},
}

// gcPercent is loadgate's GC target unless GOGC is set. The engine
// allocates little once running (about 12 MB a minute at 5000 requests/s,
// mostly the per-second snapshots), so the default GOGC=100 only let the
// heap double between rare collections, and RSS with it, as a run went on;
// at 25 a collection every few seconds costs no measurable CPU and keeps
// the memory of a 60 s run within a few percent of a 10 s one (make bench).
const gcPercent = 25

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	// LOADGATE_CPUPROFILE=FILE writes a CPU profile of the whole command,
	// for work on loadgate's own speed (make bench).
	if path := os.Getenv("LOADGATE_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				code := mainCode(os.Args[1:], os.Stdout, os.Stderr)
				pprof.StopCPUProfile()
				f.Close()
				os.Exit(code)
			}
		}
	}
	code := mainCode(os.Args[1:], os.Stdout, os.Stderr)
	// LOADGATE_MEMPROFILE=FILE writes an allocation profile at the end.
	if path := os.Getenv("LOADGATE_MEMPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	os.Exit(code)
}

// mainCode runs a command and maps its error to an exit code. A panic is a
// bug: exit 70 (commands that write reports recover on their own to write a
// best-effort report first).
func mainCode(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if p := recover(); p != nil {
			fmt.Fprintf(stderr, "loadgate: internal error: %v\n%s", p, debug.Stack())
			code = exitInternal
		}
	}()
	if len(args) == 0 {
		// Not a request for help: a mistake, so the usage goes to stderr.
		usage(stderr)
		return exitInvalid
	}
	if args[0] == "help" && len(args) == 2 {
		if _, ok := commands[args[1]]; ok { // loadgate help run: run --help
			args = []string{args[1], "--help"}
		}
	}
	if args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout) // asked for: stdout, exit 0
		return exitPassed
	}
	if args[0] == "--version" {
		args[0] = "version"
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "loadgate: unknown command %q\n", args[0])
		usage(stderr)
		return exitInvalid
	}
	err := cmd.run(args[1:], stdout, stderr)
	if err != nil && err.Error() != "" && !errors.Is(err, errReported) {
		fmt.Fprintf(stderr, "loadgate %s: %v\n", args[0], err)
	}
	return exitCode(err)
}

// errReported wraps errors whose message a command has already printed.
var errReported = errors.New("reported")

func usage(w io.Writer) {
	fmt.Fprintln(w, "loadgate: load generator with a streaming SLO gate")
	fmt.Fprintln(w, "\nusage: loadgate COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	printExamples(w, "")
	fmt.Fprintln(w, exitCodesHelp)
	fmt.Fprintln(w, "\n'loadgate COMMAND --help' lists the command's flags, with examples.")
}

func versionCmd(args []string, stdout, _ io.Writer) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Fprintln(stdout, "usage: loadgate version\n\nprints the version, the commit it was built from, the Go version and the platform")
		return nil
	}
	if len(args) > 0 {
		return usagef("version takes no arguments (see 'loadgate version --help')")
	}
	fmt.Fprintf(stdout, "loadgate %s\n", version)
	for _, l := range buildDetails(debug.ReadBuildInfo()) {
		fmt.Fprintln(stdout, "  "+l)
	}
	return nil
}

// userAgent is sent with every request.
func userAgent() string { return "loadgate/" + strings.TrimPrefix(version, "v") }
