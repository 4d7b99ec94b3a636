package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFileAtomic writes a file through write so that path holds either its
// previous content or the complete new one, never a truncated file: write
// fills a temporary file in the same directory, which is flushed, synced and
// renamed over path only if every step succeeded. On error the temporary file
// is removed. The caller handles "-" (stdout); WriteFileAtomic refuses it.
func WriteFileAtomic(path string, write func(io.Writer) error) (err error) {
	if path == "-" || path == "" {
		return fmt.Errorf("report: write %q: not a file path", path)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// The temp file is hidden and named after the target so that a crash
	// leaves an obvious leftover, never a file a glob for *.json picks up.
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("report: write %s: %w", path, withoutPath(err))
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close() // may already be closed; the write error is what matters
			_ = os.Remove(tmp)
			err = fmt.Errorf("report: write %s: %w", path, withoutPath(err))
		}
	}()
	bw := bufio.NewWriterSize(f, 64<<10)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	// CreateTemp makes the file 0600; reports are build artifacts that CI
	// jobs and colleagues read, so give them the usual 0644.
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// withoutPath drops the file name from a file-system error: the one of an
// operation on the temporary file would name it, and a message must name
// the report's path, never a temporary file (docs/reports.md). The cause
// stays wrapped (errors.Is(err, fs.ErrNotExist) still holds).
func withoutPath(err error) error {
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

// syncDir makes the rename durable. It is best effort: some file systems
// and platforms cannot sync a directory, and the file itself is complete.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync() // the data is written either way; only durability is weaker
	_ = d.Close()
}
