package scenarios

import (
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// This file decodes the sections that are checked now and run by later
// work (feeders and server-side SLIs), so that a scenario using them fails
// validation for its mistakes today rather than at the first run that
// supports them.

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

func (d *decoder) sli(n *yaml.Node) *SLISpec {
	out := &SLISpec{}
	fs := d.fields(n, "in sli", []string{"prometheus"}, nil)
	d.require(n, fs, "in sli", "prometheus")
	f, ok := fs["prometheus"]
	if !ok {
		return out
	}
	ps := d.fields(f.val, "in sli.prometheus", []string{"url", "queries"}, nil)
	d.require(f.val, ps, "in sli.prometheus", "url", "queries")
	if u, ok := ps["url"]; ok {
		if s, ok := d.str(u.val, "sli.prometheus.url"); ok {
			if msg := checkAbsURL(s); msg != "" {
				d.el.node(u.val, "sli.prometheus.url: %s", msg)
			}
			out.PrometheusURL = s
		}
	}
	q, ok := ps["queries"]
	if !ok {
		return out
	}
	if q.val.Kind != yaml.MappingNode {
		d.el.node(q.val, "expected a mapping of names to PromQL queries for sli.prometheus.queries, got %s", kindName(q.val))
		return out
	}
	for i := 0; i+1 < len(q.val.Content); i += 2 {
		k, v := q.val.Content[i], q.val.Content[i+1]
		name := d.name(k, "sli query name")
		if query := d.text(v, "sli query "+name); query != "" {
			out.Queries = append(out.Queries, SLIQuery{Name: name, Query: query})
		}
	}
	return out
}
