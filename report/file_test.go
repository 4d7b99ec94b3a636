package report

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	errBoom := errors.New("boom")
	for _, tc := range []struct {
		name    string
		before  string // "" means no file before
		write   func(io.Writer) error
		want    string // content after
		wantErr bool
	}{
		{
			name:  "new file",
			write: func(w io.Writer) error { _, err := io.WriteString(w, "hello"); return err },
			want:  "hello",
		},
		{
			name:   "replaces an old file whole",
			before: "old content that is longer",
			write:  func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err },
			want:   "new",
		},
		{
			// The writer fails halfway: the old report stays, not half a new one.
			name:   "failing writer keeps the old file",
			before: "old",
			write: func(w io.Writer) error {
				_, _ = io.WriteString(w, strings.Repeat("x", 200<<10)) // past the buffer: bytes hit the temp file
				return errBoom
			},
			want:    "old",
			wantErr: true,
		},
		{
			name:    "failing writer creates nothing",
			write:   func(w io.Writer) error { _, _ = io.WriteString(w, "partial"); return errBoom },
			wantErr: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "run.json")
			if tc.before != "" {
				if err := os.WriteFile(path, []byte(tc.before), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := WriteFileAtomic(path, tc.write)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr && !errors.Is(err, errBoom) {
				t.Errorf("err = %v, want it to wrap the writer's error", err)
			}
			got, rerr := os.ReadFile(path)
			switch {
			case tc.want == "" && !errors.Is(rerr, os.ErrNotExist):
				t.Errorf("file exists (%q), want none", got)
			case tc.want != "" && string(got) != tc.want:
				t.Errorf("content = %q, want %q", got, tc.want)
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if e.Name() != "run.json" {
					t.Errorf("leftover file %s", e.Name())
				}
			}
		})
	}
}

func TestWriteFileAtomicMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.txt")
	if err := WriteFileAtomic(path, func(w io.Writer) error { return nil }); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
	}
}

func TestWriteFileAtomicRejects(t *testing.T) {
	for _, path := range []string{"-", "", filepath.Join(t.TempDir(), "missing-dir", "r.json")} {
		if err := WriteFileAtomic(path, func(io.Writer) error { return nil }); err == nil {
			t.Errorf("WriteFileAtomic(%q) succeeded, want an error", path)
		}
	}
}

// TestWriteFileAtomicErrorNamesNoTempFile: whatever step fails (creating the
// temporary file, renaming it over a folder), the error names the report's
// path and the cause, never the temporary file (docs/reports.md), and the
// cause stays wrapped.
func TestWriteFileAtomicErrorNamesNoTempFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "folder"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, cause string
	}{
		{"missing folder", filepath.Join(dir, "missing", "r.json"), "no such file or directory"},
		{"folder is a file", filepath.Join(file, "r.json"), "not a directory"},
		{"rename over a folder", filepath.Join(dir, "folder"), "file exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := WriteFileAtomic(tc.path, func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err })
			if err == nil {
				t.Fatal("no error")
			}
			want := "report: write " + tc.path + ": "
			if msg := err.Error(); !strings.HasPrefix(msg, want) || strings.Contains(msg, ".tmp-") || strings.Count(msg, tc.path) != 1 {
				t.Errorf("error %q: want %q then the cause, the path once and no temporary file", msg, want)
			}
			if !strings.Contains(err.Error(), tc.cause) && !strings.Contains(err.Error(), "is a directory") {
				t.Errorf("error %q lacks the cause %q", err, tc.cause)
			}
		})
	}
}
