package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// checkOutputs is the preflight of the -o outputs of run, demo, merge and
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
// Every error is a usage error (exit 2) that names the flag as written;
// none names a temporary file.
func checkOutputs(outs []output, partials bool) error {
	type use struct {
		o       output
		partial bool // the file is o's PATH.partial
	}
	seen := map[string]use{}
	var stdout *output
	for i, o := range outs {
		if o.path == "-" {
			if stdout != nil {
				return usagef(fmt.Sprintf("%s and %s: only one report can go to stdout (-)", stdout.flag(), o.flag()))
			}
			stdout = &outs[i]
			continue
		}
		abs, err := filepath.Abs(o.path)
		if err != nil {
			return usagef(fmt.Sprintf("%s: %v", o.flag(), err))
		}
		files := []use{{o, false}}
		if partials && o.format == "json" {
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
				return usagef(fmt.Sprintf("%s: %s is where %s keeps its partial copy during the run; give each report its own path", other.flag(), f, j.flag()))
			}
			return usagef(fmt.Sprintf("%s and %s write the same file %s: give each report its own path", prev.o.flag(), o.flag(), f))
		}
	}
	for _, o := range outs {
		if o.path == "-" {
			continue
		}
		if err := checkOutputPath(o.path); err != nil {
			return usagef(fmt.Sprintf("%s: %v", o.flag(), err))
		}
	}
	return nil
}

// flag is the output as the user wrote it: -o FORMAT=PATH.
func (o output) flag() string { return "-o " + o.format + "=" + o.path }

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
func writeFailure(o output, err error) string {
	if u := errors.Unwrap(err); u != nil && strings.HasPrefix(err.Error(), "report: write ") {
		err = u
	}
	return fmt.Sprintf("cannot write %s report %s: %v", o.format, o.path, err)
}
