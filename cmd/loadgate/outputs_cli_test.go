package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// unwritableDir returns a folder in which no file can be created, or skips
// the case: a 0555 folder stops every user but root, and root is stopped by
// a read-only /sys (containers) or by nothing.
func unwritableDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, "/sys"} {
		f, err := os.CreateTemp(d, "probe-*")
		if err != nil {
			return d
		}
		f.Close()
		os.Remove(f.Name())
	}
	t.Skip("no folder refuses a new file to this user (root without a read-only /sys)")
	return ""
}

// TestOutputPreflight (issue 15 item 4): every -o output is checked before
// anything is sent (docs/reports.md, "Where reports go"). A missing parent
// folder is created; a folder that cannot be created or written, a path
// that is a folder, two outputs to one file (the json's .partial counts)
// and two outputs to stdout are exit 2, naming the flag, with nothing sent
// and no temporary file named. The same check runs in demo, report and
// merge.
func TestOutputPreflight(t *testing.T) {
	tg := newTarget(t, nil)
	sc := scenario(t, tg.URL, shortLoad, "  http_req_duration: [\"p(95) < 5s\"]\n")
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	saved := "../../report/testdata/summary.json"
	for _, tc := range []struct {
		name    string
		args    func(t *testing.T) []string
		code    int
		want    []string // on stderr
		created string   // a file the run must have written
		hits    int64    // requests the target saw
	}{
		{
			name: "missing folders are created",
			args: func(t *testing.T) []string {
				return []string{"run", sc, "-o", "junit=" + filepath.Join(dir, "out2", "deep", "smoke.xml")}
			},
			code:    exitPassed,
			created: filepath.Join(dir, "out2", "deep", "smoke.xml"),
			hits:    50,
		},
		{
			name: "a folder that cannot be created",
			args: func(t *testing.T) []string {
				return []string{"run", sc, "-o", "junit=" + filepath.Join(file, "sub", "smoke.xml")}
			},
			code: exitInvalid,
			want: []string{"-o junit=" + filepath.Join(file, "sub", "smoke.xml"), "cannot create folder", "not a directory"},
		},
		{
			name: "a folder that cannot be written",
			args: func(t *testing.T) []string {
				return []string{"run", sc, "-o", "html=" + filepath.Join(unwritableDir(t), "r.html")}
			},
			code: exitInvalid,
			want: []string{"-o html=", "cannot write in folder"},
		},
		{
			name: "a path that is a folder",
			args: func(t *testing.T) []string { return []string{"run", sc, "-o", "text=" + dir} },
			code: exitInvalid,
			want: []string{"-o text=" + dir, "is a folder"},
		},
		{
			name: "a path that ends like a folder",
			args: func(t *testing.T) []string {
				return []string{"run", sc, "-o", "json=" + filepath.Join(dir, "new") + "/"}
			},
			code: exitInvalid,
			want: []string{"-o json=" + filepath.Join(dir, "new") + "/", "names a folder"},
		},
		{
			name: "two outputs to one file",
			args: func(t *testing.T) []string {
				return []string{"run", sc, "-o", "json=" + filepath.Join(dir, "a.json"), "-o", "junit=" + dir + "/./x/../a.json"}
			},
			code: exitInvalid,
			want: []string{"-o json=" + filepath.Join(dir, "a.json"), "-o junit=" + dir + "/./x/../a.json", "write the same file"},
		},
		{
			name: "an output on a json report's partial copy",
			args: func(t *testing.T) []string {
				return []string{"run", sc, "-o", "json=" + filepath.Join(dir, "b.json"), "-o", "text=" + filepath.Join(dir, "b.json.partial")}
			},
			code: exitInvalid,
			want: []string{"-o text=", "is where -o json=" + filepath.Join(dir, "b.json") + " keeps its partial copy"},
		},
		{
			name: "two outputs to stdout",
			args: func(t *testing.T) []string { return []string{"run", sc, "-o", "json=-", "-o", "text=-"} },
			code: exitInvalid,
			want: []string{"-o json=- and -o text=-", "only one report can go to stdout"},
		},
		{
			name: "demo checks its outputs",
			args: func(t *testing.T) []string { return []string{"demo", "-o", "json=-", "-o", "junit=-"} },
			code: exitInvalid,
			want: []string{"loadgate demo:", "only one report can go to stdout"},
		},
		{
			name: "report checks its outputs",
			args: func(t *testing.T) []string {
				return []string{"report", saved, "-o", "html=" + filepath.Join(dir, "r.html"), "-o", "text=" + filepath.Join(dir, "r.html")}
			},
			code: exitInvalid,
			want: []string{"loadgate report:", "write the same file"},
		},
		{
			name: "merge checks its outputs",
			args: func(t *testing.T) []string {
				return []string{"merge", saved, "-o", "json=" + filepath.Join(file, "m.json")}
			},
			code: exitInvalid,
			want: []string{"loadgate merge:", "-o json=", "cannot create folder"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tg.hits.Load()
			r := run(t, tc.args(t)...)
			r.expect(t, tc.code)
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if strings.Contains(r.stderr+r.stdout, ".tmp-") {
				t.Errorf("a temporary file is named:\n%s%s", r.stdout, r.stderr)
			}
			if got := tg.hits.Load() - before; got != tc.hits {
				t.Errorf("the target saw %d requests, want %d", got, tc.hits)
			}
			if tc.created != "" {
				if _, err := os.Stat(tc.created); err != nil {
					t.Errorf("the report was not written: %v", err)
				}
			}
		})
	}
}

// TestExitIOError: a report that cannot be written at the end (its folder
// replaced by a file during the run, past the preflight of the outputs) is
// exit 74; the message names the report and the cause, never the temporary
// file report.WriteFileAtomic writes first, and the other reports carry the
// io_error status.
func TestExitIOError(t *testing.T) {
	tg := newTarget(t, nil)
	dir := filepath.Join(t.TempDir(), "reports")
	xml := filepath.Join(dir, "smoke.xml")
	cmd, rep, stdout, stderr := startCmd(t, "run", scenario(t, tg.URL, "  rate: 20\n  duration: 2s\n", ""), "-o", "junit="+xml, "--quiet")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	breakFolder(t, tg, dir)
	r := finish(t, cmd, cmd.Wait(), rep, stdout, stderr)
	r.expect(t, exitIO)
	want := "cannot write junit report " + xml + ": not a directory"
	if !strings.Contains(r.stderr, want) || !strings.Contains(r.stdout, "IO_ERROR") || !strings.Contains(r.stdout, want) {
		t.Fatalf("want %q on stderr and in the summary (IO_ERROR) on stdout:\nstdout:\n%s\nstderr:\n%s", want, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr+strings.Join(reasons(r), "\n"), ".tmp-") {
		t.Fatalf("a temporary file is named:\n%s%s", r.stdout, r.stderr)
	}
}

// breakFolder waits until the run has sent its first request (past the
// output preflight) and puts a file in place of the report folder dir, so
// that writing a report there fails at the end.
func breakFolder(t *testing.T, tg *counter, dir string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); tg.hits.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the run sent nothing in 10 s")
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// reasons are the report's reasons[].
func reasons(r result) []string {
	var out []string
	rs, _ := r.report["reasons"].([]any)
	for _, x := range rs {
		out = append(out, x.(string))
	}
	return out
}

// TestReportToStdoutAlone: a report on stdout (-o json=-, -o junit=-) is
// all that goes there, so that it can be piped: run, merge and report
// print no text summary after it.
func TestReportToStdoutAlone(t *testing.T) {
	tg := newTarget(t, nil)
	saved := "../../report/testdata/summary.json"
	for _, args := range [][]string{
		{"run", scenario(t, tg.URL, shortLoad, ""), "--quiet", "-o", "json=-"},
		{"merge", saved, "-o", "json=-"},
		{"report", saved, "-o", "json=-"},
	} {
		t.Run(args[0], func(t *testing.T) {
			r := run(t, args...)
			var doc map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc["schema"] != "loadgate.report/v1" {
				t.Errorf("stdout is not the JSON report alone (%v):\n%s", err, r.stdout)
			}
		})
	}
}
