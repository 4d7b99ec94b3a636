package testtool

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTB records what Need asks of the test. Any method Need is not meant
// to call panics on the nil embedded TB.
type fakeTB struct {
	testing.TB
	fatal, skip string
	calls       int
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.calls++
	f.fatal = fmt.Sprintf(format, args...)
}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.calls++
	f.skip = fmt.Sprintf(format, args...)
}

// pathWith makes a directory holding an executable file for each name and
// a non-executable one for each plain name, and makes it the whole PATH.
func pathWith(t *testing.T, executables, plain []string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range executables {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range plain {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("not a program\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
	return dir
}

func TestNeed(t *testing.T) {
	for _, tc := range []struct {
		name            string
		ci              string
		onPath, notExec []string
		tool, pkg       string
		want            string // base name of the path found; "" when missing
		fatal, skip     bool
		msgHas          []string
	}{
		{name: "found, no CI", tool: "xmllint", pkg: "libxml2-utils", onPath: []string{"xmllint"}, want: "xmllint"},
		{name: "found, CI", ci: "true", tool: "xmllint", pkg: "libxml2-utils", onPath: []string{"xmllint"}, want: "xmllint"},
		{name: "missing, no CI: skip", tool: "xmllint", pkg: "libxml2-utils", skip: true,
			msgHas: []string{"xmllint not found: install Debian package libxml2-utils (.ci/run does)", "CI is not set"}},
		{name: "missing, CI: fail", ci: "true", tool: "xmllint", pkg: "libxml2-utils", fatal: true,
			msgHas: []string{"xmllint not found: install Debian package libxml2-utils (.ci/run does)", "CI is set"}},
		{name: "any non-empty CI counts", ci: "1", tool: "promtool", pkg: "prometheus", fatal: true,
			msgHas: []string{"promtool not found: install Debian package prometheus"}},
		{name: "not executable is missing", ci: "true", tool: "zsh", pkg: "zsh", notExec: []string{"zsh"}, fatal: true,
			msgHas: []string{"zsh not found: install Debian package zsh"}},
		{name: "chromium", tool: "chromium", pkg: "chromium fonts-dejavu-core", onPath: []string{"chromium", "chromium-browser"}, want: "chromium"},
		{name: "chromium-browser", tool: "chromium", pkg: "chromium fonts-dejavu-core", onPath: []string{"chromium-browser"}, want: "chromium-browser"},
		{name: "no chromium, CI", ci: "true", tool: "chromium", pkg: "chromium fonts-dejavu-core", fatal: true,
			msgHas: []string{"chromium not found: install Debian packages chromium fonts-dejavu-core (.ci/run does)", "chromium, chromium-browser"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			dir := pathWith(t, tc.onPath, tc.notExec)
			f := &fakeTB{}
			got := Need(f, tc.tool, tc.pkg)
			if tc.want != "" {
				if got != filepath.Join(dir, tc.want) || f.calls != 0 {
					t.Fatalf("Need = %q (fatal %q, skip %q), want %s", got, f.fatal, f.skip, filepath.Join(dir, tc.want))
				}
				return
			}
			if got != "" || f.calls != 1 || (f.fatal != "") != tc.fatal || (f.skip != "") != tc.skip {
				t.Fatalf("Need = %q, fatal %q, skip %q; want fatal %v, skip %v", got, f.fatal, f.skip, tc.fatal, tc.skip)
			}
			for _, want := range tc.msgHas {
				if !strings.Contains(f.fatal+f.skip, want) {
					t.Errorf("message %q lacks %q", f.fatal+f.skip, want)
				}
			}
		})
	}
}

// TestNeedRealTB runs TestNeedChild in a child process with an empty PATH:
// with CI set the child fails and names the package; without it the child
// is skipped (a SKIP line under -v) and passes. The fake above cannot show
// that a real testing.T stops there.
func TestNeedRealTB(t *testing.T) {
	if os.Getenv("LOADGATE_TESTTOOL_CHILD") != "" {
		t.Skip("in the child")
	}
	empty := t.TempDir()
	for _, tc := range []struct {
		ci       string
		wantCode int
		wantOut  string
	}{
		{"true", 1, "--- FAIL: TestNeedChild"},
		{"", 0, "--- SKIP: TestNeedChild"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestNeedChild$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "LOADGATE_TESTTOOL_CHILD=1", "CI="+tc.ci, "PATH="+empty)
		out, _ := cmd.CombinedOutput()
		code := cmd.ProcessState.ExitCode()
		msg := "loadgate-no-such-tool not found: install Debian package no-such-package"
		if code != tc.wantCode || !strings.Contains(string(out), tc.wantOut) || !strings.Contains(string(out), msg) ||
			strings.Contains(string(out), "went on") {
			t.Errorf("CI=%q: exit %d, want %d with %q and %q:\n%s", tc.ci, code, tc.wantCode, tc.wantOut, msg, out)
		}
	}
}

// TestNeedChild is TestNeedRealTB's child; it does nothing on its own.
func TestNeedChild(t *testing.T) {
	if os.Getenv("LOADGATE_TESTTOOL_CHILD") == "" {
		t.Skip("run by TestNeedRealTB")
	}
	Need(t, "loadgate-no-such-tool", "no-such-package")
	t.Log("went on")
}
