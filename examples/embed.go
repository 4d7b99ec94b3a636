// Package examples holds the example scenarios; the demo scenario is
// embedded so that `loadgate demo` works from the binary alone.
package examples

import _ "embed"

// Demo is examples/demo.yaml, run by `loadgate demo` against the built-in
// target.
//
//go:embed demo.yaml
var Demo []byte

// ShopProto is examples/shop.proto, the gRPC service of the built-in target
// (internal/grpctarget), which examples/grpc.yaml compiles: one file, so
// that the example and the target cannot drift apart.
//
//go:embed shop.proto
var ShopProto []byte
