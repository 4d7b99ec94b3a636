package engine

import (
	"fmt"
	"strings"
)

// GRPCCall is what a gRPC step calls, as declarative data (the step's URL
// names the target: http://host:port for plaintext, https://host:port for
// TLS; its Body is the request message as JSON text with templates; its
// Headers are the call's metadata; its Timeout the deadline; its Accept
// the status codes that count as success, OK alone when empty).
type GRPCCall struct {
	// Method is the method's full name: package.Service/Method.
	Method string
	// ServerStreaming is set when the server answers with a stream: the
	// call lasts until the stream ends, and its JSON view is the array of
	// the messages received.
	ServerStreaming bool
	// Descriptors is a serialized google.protobuf.FileDescriptorSet that
	// holds the service's file and every file it imports; nil when Reflect.
	Descriptors []byte
	// Reflect resolves Method through the server's reflection service (at
	// preflight, and again when the run connects) instead of Descriptors.
	Reflect bool
}

// validate checks the call's own invariants (the scenario compiler checks
// the rest with positions; the engine checks the descriptors at compile).
func (c *GRPCCall) validate() error {
	s, m, ok := strings.Cut(c.Method, "/")
	switch {
	case !ok || s == "" || m == "" || strings.Contains(m, "/"):
		return fmt.Errorf("grpc method %q: want package.Service/Method", c.Method)
	case c.Reflect && len(c.Descriptors) > 0:
		return fmt.Errorf("grpc method %s: descriptors and reflection at once", c.Method)
	case !c.Reflect && len(c.Descriptors) == 0:
		return fmt.Errorf("grpc method %s: no descriptors and no reflection", c.Method)
	}
	return nil
}
