package scenarios

import (
	"go.yaml.in/yaml/v3"

	"github.com/loadgate/loadgate/engine"
)

// WSSpec is the ws: block of a step.
type WSSpec struct{}

// wsStep decodes a step's ws: block (n) into s.
func (d *decoder) wsStep(n *yaml.Node, s *StepSpec, path string) {
	d.el.node(n, "ws steps are not supported yet (%s)", path)
}

// compileWS completes the engine step of a WebSocket step.
func (c *compiler) compileWS(st *StepSpec, step *engine.Step) {}
