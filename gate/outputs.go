package gate

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/loadgate/loadgate/report"
)

// CheckOutputs is the preflight of the -o outputs of run, demo, merge and
// report (docs/reports.md, "Where reports go"). It runs before anything is
// sent, so that a report that cannot be written is found before the load
// and not after it (exit 74 with the report lost):
//
//   - two outputs to the same file are refused (paths compared cleaned and
//     absolute; with partials, the PATH.partial of a json output counts as
//     one of its files), and so are two outputs to stdout (-);
//   - a missing parent folder is created, as mkdir -p would;
//   - the folder must take a new file (a probe file is created and removed
//     at once), and PATH must not be a folder.
//
// Every error is a usage error (exit 2 for the caller) that names the flag
// as written; none names a temporary file.
func CheckOutputs(outs []Output, partials bool) error {
	type use struct {
		o       Output
		partial bool // the file is o's PATH.partial
	}
	seen := map[string]use{}
	var stdout *Output
	for i, o := range outs {
		if o.Path == "-" {
			if stdout != nil {
				return fmt.Errorf("%s and %s: only one report can go to stdout (-)", stdout.Flag(), o.Flag())
			}
			stdout = &outs[i]
			continue
		}
		abs, err := filepath.Abs(o.Path)
		if err != nil {
			return fmt.Errorf("%s: %v", o.Flag(), err)
		}
		files := []use{{o, false}}
		if partials && o.Format == "json" {
			files = append(files, use{o, true})
		}
		for _, u := range files {
			f := abs
			if u.partial {
				f += ".partial"
			}
			prev, ok := seen[f]
			switch {
			case !ok:
				seen[f] = u
				continue
			case prev.partial || u.partial:
				j, other := prev.o, o
				if u.partial {
					j, other = o, prev.o
				}
				return fmt.Errorf("%s: %s is where %s keeps its partial copy during the run; give each report its own path", other.Flag(), f, j.Flag())
			}
			return fmt.Errorf("%s and %s write the same file %s: give each report its own path", prev.o.Flag(), o.Flag(), f)
		}
	}
	for _, o := range outs {
		if o.Path == "-" {
			continue
		}
		if err := checkOutputPath(o.Path); err != nil {
			return fmt.Errorf("%s: %v", o.Flag(), err)
		}
	}
	return nil
}

// Output is one report to write: -o FORMAT=PATH, FORMAT one of json,
// junit, html and text, PATH "-" for stdout (docs/reports.md).
type Output struct {
	Format, Path string
}

// Flag is the output as the user wrote it: -o FORMAT=PATH.
func (o Output) Flag() string { return "-o " + o.Format + "=" + o.Path }

// checkOutputPath makes sure a report can be written at path: its folder
// exists (created when missing) and takes a new file, and path is not a
// folder itself.
func checkOutputPath(path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("%s is a folder; give a file name", path)
	}
	if base := filepath.Base(path); strings.HasSuffix(path, string(filepath.Separator)) || base == "." || base == ".." {
		return fmt.Errorf("%s names a folder; give a file name", path)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create folder %s: %v", dir, cause(err))
	}
	// The probe is named like report.WriteFileAtomic's temporary files
	// (hidden, after the target), so that a crash right here leaves an
	// obvious leftover and never a *.json a glob picks up.
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write in folder %s: %v", dir, cause(err))
	}
	name := f.Name()
	f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("cannot write in folder %s: %v", dir, cause(err))
	}
	return nil
}

// cause is the system's reason of a file-system error, without the path
// the error carries (which may be a temporary file's, or say again what
// the message already says).
func cause(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}

// writeFailure says that report o could not be written, and why: "cannot
// write junit report out/smoke.xml: no space left on device". err is
// report.WriteFileAtomic's, whose "report: write PATH:" prefix would say the
// path twice.
func writeFailure(o Output, err error) string {
	if u := errors.Unwrap(err); u != nil && strings.HasPrefix(err.Error(), "report: write ") {
		err = u
	}
	return fmt.Sprintf("cannot write %s report %s: %v", o.Format, o.Path, err)
}

// Writer writes a report to the -o outputs of run, demo, merge and report,
// with one policy (docs/reports.md, "Where reports go"; docs/exit-codes.md):
//
//   - files first, in the order given, each replaced atomically
//     (report.WriteFileAtomic);
//   - a file that cannot be written is said on Stderr ("PREFIX: cannot
//     write FORMAT report PATH: why") and the others are still written; when
//     the caller decides the verdict (rejudge not nil), the run becomes an
//     io_error (74) with that reason and every file already written is
//     written again, so that all carry the final status;
//   - then stdout: the output to "-" when there is one, else the text
//     summary (unless NoSummary), whose STATUS line says the code the
//     process exits with (ConsoleCode); stdout errors are ignored, as a
//     closed stdout (| head) must not change the outcome.
type Writer struct {
	Stdout, Stderr io.Writer
	// Prefix starts every message on Stderr: "loadgate", "loadgate merge".
	Prefix string
	// Color colors the text summary on stdout (never an -o text=- output).
	Color bool
	// ConsoleCode maps a report's exit code to the process's
	// (--exit-code-on-fail); nil keeps it.
	ConsoleCode func(int) int
	// NoSummary writes nothing to stdout when no output goes there.
	NoSummary bool
}

// Write writes sum to every output and returns each output's error (nil
// for stdout). rejudge, when not nil, returns the summary with an io_error
// cause of reason added; Write calls it once per failed file.
func (w Writer) Write(outs []Output, sum *report.Summary, rejudge func(reason string) *report.Summary) []error {
	write := func(o Output) error {
		return report.WriteFileAtomic(o.Path, func(f io.Writer) error { return WriteFormat(f, o.Format, sum, false) })
	}
	errs := make([]error, len(outs))
	failed := false
	for i, o := range outs {
		if o.Path == "-" {
			continue
		}
		if errs[i] = write(o); errs[i] != nil {
			msg := writeFailure(o, errs[i])
			fmt.Fprintf(w.Stderr, "%s: %s\n", w.Prefix, msg)
			if rejudge != nil {
				sum = rejudge(msg)
			}
			failed = true
		}
	}
	if failed && rejudge != nil {
		for i, o := range outs {
			if o.Path != "-" && errs[i] == nil {
				errs[i] = write(o)
			}
		}
	}
	toStdout := false
	for _, o := range outs {
		if o.Path == "-" {
			toStdout = true
			_ = w.console(o.Format, sum, false)
		}
	}
	if !toStdout && !w.NoSummary {
		_ = w.console("text", sum, w.Color)
	}
	return errs
}

// console writes a report to stdout. The text summary there is the
// console's: its STATUS line says the code the process exits with, which
// --exit-code-on-fail may change (the files keep the report's exit_code,
// as `loadgate report` renders them again; docs/exit-codes.md).
func (w Writer) console(format string, sum *report.Summary, color bool) error {
	if format != "text" {
		return WriteFormat(w.Stdout, format, sum, color)
	}
	code := sum.ExitCode
	if w.ConsoleCode != nil {
		code = w.ConsoleCode(code)
	}
	return report.WriteTextWith(w.Stdout, sum, report.TextOptions{Color: color, ExitCode: code})
}

// WriteFormat writes sum in format (json, junit, html, text) to w.
func WriteFormat(w io.Writer, format string, sum *report.Summary, color bool) error {
	switch format {
	case "text":
		return report.WriteText(w, sum, color)
	case "junit":
		return report.WriteJUnit(w, sum)
	case "html":
		return report.WriteHTML(w, sum)
	}
	return report.WriteJSON(w, sum)
}
