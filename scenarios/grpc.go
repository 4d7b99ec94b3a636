package scenarios

import (
	"go.yaml.in/yaml/v3"

	"github.com/loadgate/loadgate/engine"
)

// GRPCSpec is the grpc: block of a step.
type GRPCSpec struct{}

// grpcStep decodes a step's grpc: block (n) into s.
func (d *decoder) grpcStep(n *yaml.Node, s *StepSpec, path string) {
	d.el.node(n, "grpc steps are not supported yet (%s)", path)
}

// compileGRPC completes the engine step of a gRPC step.
func (c *compiler) compileGRPC(st *StepSpec, step *engine.Step) {}
