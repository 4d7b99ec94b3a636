package scenarios

// Feeders (data:): CSV files with a header line and JSON files holding an
// array of objects, relative to the scenario file, loaded once here and
// shared read-only by the engine's workers. They are bounded: a feeder is
// held in memory, so its file size and row count are capped.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/loadgate/loadgate/engine"
)

// Limits of one feeder.
const (
	MaxDataBytes = 64 << 20
	MaxDataRows  = 1_000_000
)

func (d *decoder) data(n *yaml.Node, dir string) []DataSpec {
	items := d.list(n, "feeders")
	out := make([]DataSpec, 0, len(items))
	seen := map[string]int{}
	for i, it := range items {
		where := "in data[" + itoa(i) + "]"
		fs := d.fields(it, where, []string{"name", "file", "order"}, nil)
		d.require(it, fs, where, "name", "file")
		ds := DataSpec{Order: "sequential", Pos: posOf(it)}
		if f, ok := fs["name"]; ok {
			ds.Name = d.name(f.val, "data name")
			if line, dup := seen[ds.Name]; dup && ds.Name != "" {
				d.el.node(f.val, "duplicate data name %q (first at line %d)", ds.Name, line)
			}
			if strings.Contains(ds.Name, ".") || ds.Name != "" && !validCaptureName(ds.Name) {
				d.el.node(f.val, "data name %q: want letters, digits, _ or - (it is used as {{ %s.column }})", ds.Name, ds.Name)
			}
			seen[ds.Name] = f.val.Line
		}
		if f, ok := fs["order"]; ok {
			ds.Order, _ = d.enum(f.val, "order", "sequential", "random", "unique")
		}
		if f, ok := fs["file"]; ok {
			d.dataFile(f.val, dir, &ds)
		}
		out = append(out, ds)
	}
	return out
}

// dataFile resolves a feeder's file against the scenario's directory and
// loads it.
func (d *decoder) dataFile(n *yaml.Node, dir string, ds *DataSpec) {
	file, ok := d.str(n, "data file")
	if !ok {
		return
	}
	ds.File, ds.Path = file, file
	if !filepath.IsAbs(file) {
		ds.Path = filepath.Join(dir, file)
	}
	st, err := os.Stat(ds.Path)
	switch {
	case err != nil:
		d.el.node(n, "data file %s: %v", file, unwrapPathError(err))
		return
	case !st.Mode().IsRegular():
		d.el.node(n, "data file %s is not a regular file", file)
		return
	case st.Size() > MaxDataBytes:
		d.el.node(n, "data file %s is %d bytes, limit %d (it is held in memory)", file, st.Size(), MaxDataBytes)
		return
	}
	f, missing, err := loadFeeder(ds.Path)
	if err != nil {
		d.el.node(n, "data file %s: %v", file, err)
		return
	}
	ds.missing = missing
	f.Name = ds.Name
	switch ds.Order {
	case "random":
		f.Order = engine.Random
	case "unique":
		f.Order = engine.Unique
	}
	ds.Feeder = f
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// LoadFeeder reads a CSV file (first line: column names) or, for a .json
// file, an array of objects whose keys are the columns (values that are not
// strings are kept as JSON text). The columns of a JSON file are the keys
// of all its objects; a key that some object lacks is empty there, and a
// scenario whose templates use that column is invalid (checkRefs).
func LoadFeeder(path string) (*engine.Feeder, error) {
	f, _, err := loadFeeder(path)
	return f, err
}

// missingKey is the first object of a JSON feeder that lacks a column:
// its 1-based row and the line of the file it begins on.
type missingKey struct {
	row, line int
}

// loadFeeder is LoadFeeder, and for a JSON file the first object that
// lacks each column.
func loadFeeder(path string) (*engine.Feeder, map[string]missingKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, unwrapPathError(err)
	}
	if len(data) > MaxDataBytes {
		return nil, nil, fmt.Errorf("%d bytes, limit %d", len(data), MaxDataBytes)
	}
	var f *engine.Feeder
	var missing map[string]missingKey
	if strings.EqualFold(filepath.Ext(path), ".json") {
		f, missing, err = jsonFeeder(data)
	} else {
		f, err = csvFeeder(data)
	}
	if err != nil {
		return nil, nil, err
	}
	if len(f.Rows) == 0 {
		return nil, nil, errors.New("no rows")
	}
	return f, missing, nil
}

func csvFeeder(data []byte) (*engine.Feeder, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	r.ReuseRecord = false
	head, err := r.Read()
	if err == io.EOF {
		return nil, errors.New("empty: want a header line of column names")
	}
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, c := range head {
		head[i] = strings.TrimSpace(c)
		if head[i] == "" || seen[head[i]] {
			return nil, fmt.Errorf("line 1: column %d: want a unique, non-empty name", i+1)
		}
		seen[head[i]] = true
	}
	f := &engine.Feeder{Columns: head}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return nil, err
		}
		if len(f.Rows) >= MaxDataRows {
			return nil, fmt.Errorf("more than %d rows", MaxDataRows)
		}
		f.Rows = append(f.Rows, rec)
	}
}

func jsonFeeder(data []byte) (*engine.Feeder, map[string]missingKey, error) {
	var rows []map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&rows); err != nil {
		return nil, nil, fmt.Errorf("want a JSON array of objects: %v", err)
	}
	if len(rows) > MaxDataRows {
		return nil, nil, fmt.Errorf("%d rows, limit %d", len(rows), MaxDataRows)
	}
	// Columns in order of first appearance: map keys have no order, so read
	// the keys of each object from the text again, with where it starts.
	f := &engine.Feeder{}
	index := map[string]int{}
	var lines []int // of each object
	keysDec := json.NewDecoder(bytes.NewReader(data))
	_, _ = keysDec.Token() // [
	for keysDec.More() {
		off := int(keysDec.InputOffset()) // after the previous token: skip to the {
		for off < len(data) && strings.IndexByte(" \t\r\n,", data[off]) >= 0 {
			off++
		}
		lines = append(lines, 1+bytes.Count(data[:off], []byte{'\n'}))
		_, _ = keysDec.Token() // {
		for keysDec.More() {
			t, _ := keysDec.Token()
			k, _ := t.(string)
			if _, ok := index[k]; !ok {
				index[k] = len(f.Columns)
				f.Columns = append(f.Columns, k)
			}
			var skip json.RawMessage
			_ = keysDec.Decode(&skip)
		}
		_, _ = keysDec.Token() // }
	}
	missing := map[string]missingKey{}
	for i, obj := range rows {
		row := make([]string, len(f.Columns))
		for k, v := range obj {
			var s string
			if json.Unmarshal(v, &s) != nil {
				s = string(v)
			}
			row[index[k]] = s
		}
		for _, c := range f.Columns {
			if _, ok := obj[c]; !ok {
				if _, seen := missing[c]; !seen {
					line := 0
					if i < len(lines) {
						line = lines[i]
					}
					missing[c] = missingKey{row: i + 1, line: line}
				}
			}
		}
		f.Rows = append(f.Rows, row)
	}
	return f, missing, nil
}

// feeders returns the loaded feeders for the plan.
func (c *compiler) feeders() []engine.Feeder {
	var out []engine.Feeder
	for _, ds := range c.spec.Data {
		if ds.Feeder != nil {
			out = append(out, *ds.Feeder)
		}
	}
	return out
}
