// Package testtool finds the external programs some tests need (xmllint,
// Chromium, Prometheus and promtool, zsh, bash, unshare and ip) and decides
// what a missing one means, by one rule (docs/reliability.md, "Test
// hygiene"):
//
//   - where the environment variable CI is set (non-empty), a missing tool
//     is a test failure naming the Debian package to install: .ci/run
//     installs them all, so a missing one there is a broken CI image, and a
//     check that silently did not run would pass while proving nothing;
//   - elsewhere (a developer's machine) it is a skip with the same message,
//     which `go test -v` shows as a SKIP line.
//
// It never returns quietly: a test that logs "not installed" and returns
// passes without checking anything, and that is the failure this package
// exists to prevent.
package testtool

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// alternatives are the names a tool goes by on PATH, in the order tried.
// Debian's Chromium is /usr/bin/chromium; other distributions and older
// Debian releases name it chromium-browser.
var alternatives = map[string][]string{
	"chromium": {"chromium", "chromium-browser"},
}

// InCI reports whether the tests run in CI: the environment variable CI is
// non-empty (GitHub Actions, GitLab CI and most runners set CI=true; .ci/run
// sets it when the runner does not).
func InCI() bool { return os.Getenv("CI") != "" }

// Missing is the message for a tool that is not on PATH, naming the Debian
// package (or space-separated packages) that provides it.
func Missing(tool, debianPackage string) string {
	what := "package"
	if strings.Contains(strings.TrimSpace(debianPackage), " ") {
		what = "packages"
	}
	return fmt.Sprintf("%s not found: install Debian %s %s (.ci/run does)", tool, what, debianPackage)
}

// Lookup returns the path of tool (or of one of its alternative names) on
// PATH, or the Missing message as an error.
func Lookup(tool, debianPackage string) (string, error) {
	names := alternatives[tool]
	if names == nil {
		names = []string{tool}
	}
	for _, name := range names {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	if len(names) > 1 {
		return "", fmt.Errorf("%s (looked for %s on PATH)", Missing(tool, debianPackage), strings.Join(names, ", "))
	}
	return "", fmt.Errorf("%s", Missing(tool, debianPackage))
}

// Need returns the path of tool, which the calling test runs. When tool is
// not on PATH, the test fails (CI set) or is skipped (CI unset) with a
// message naming debianPackage; either way it does not go on. Chromium is
// found as chromium or chromium-browser.
func Need(t testing.TB, tool, debianPackage string) string {
	t.Helper()
	path, err := Lookup(tool, debianPackage)
	if err == nil {
		return path
	}
	if InCI() {
		t.Fatalf("%v; CI is set, so a missing tool is a failure", err)
	} else {
		t.Skipf("%v; skipped because CI is not set (with CI set this fails)", err)
	}
	return "" // not reached with a real testing.TB
}
