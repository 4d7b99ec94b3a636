// Package examples holds the example scenarios; the demo scenario is
// embedded so that `loadgate demo` works from the binary alone.
package examples

import _ "embed"

// Demo is examples/demo.yaml, run by `loadgate demo` against the built-in
// target.
//
//go:embed demo.yaml
var Demo []byte
