package scenarios

import (
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// This file decodes the sections that are checked now and run by later
// work (feeders), so that a scenario using them fails validation for its
// mistakes today rather than at the first run that supports them.

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
// checks that it is a regular file.
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
	case !st.Mode().IsRegular():
		d.el.node(n, "data file %s is not a regular file", file)
	}
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
