package scenarios

// gRPC steps (docs/scenario-reference.md, "gRPC steps"): the top-level
// grpc section names the target and where the descriptors come from
// (.proto files compiled here, at load, with github.com/bufbuild/protocompile,
// or the server's reflection at preflight); a step's grpc key names the
// service, the method and the request message, which is checked against
// the descriptors field by field so that a typo is an error at its line
// before anything is sent.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/reporter"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/internal/grpcstatus"
)

var (
	grpcSectionKeys = []string{"target", "proto", "import_paths", "reflect"}
	grpcStepKeys    = []string{"service", "method", "message", "target"}
	// notOnGRPC are step keys that mean nothing on a gRPC step, with why.
	notOnGRPC = map[string]string{
		"body":          "a gRPC step's request is grpc.message",
		"json":          "a gRPC step's request is grpc.message",
		"form":          "a gRPC step's request is grpc.message",
		"body_file":     "a gRPC step's request is grpc.message",
		"max_redirects": "gRPC has no redirects",
	}
)

// maxProtoFiles bounds the proto list (each file is compiled at load).
const maxProtoFiles = 100

// GRPCSection is the top-level grpc section.
type GRPCSection struct {
	// Target is http://host:port (plaintext) or https://host:port (TLS,
	// with the tls section's options), as written; "" without one.
	Target string
	// Proto are the .proto files as written, relative to the scenario's
	// directory; ImportPaths the directories their imports are found in.
	Proto, ImportPaths []string
	// Reflect resolves methods through the server's reflection service
	// at preflight instead of .proto files.
	Reflect bool

	targetNode *yaml.Node
	// files are the compiled descriptors (nil with reflect or after an
	// error); sets caches the FileDescriptorSet of each service's file.
	files *protoregistry.Files
	sets  map[string][]byte
	// failed is set when the descriptors could not be compiled (reported):
	// steps are then not checked against them.
	failed bool
}

// GRPCSpec is a step's grpc key.
type GRPCSpec struct {
	Service, Method string
	// Message is the request as JSON text; its templates are inside
	// strings, except in bool fields, where a value that is one template
	// alone is written bare (it renders true or false).
	Message []byte
	// Target overrides the section's target, "" when not given.
	Target string
	// ServerStreaming is set when the method streams its answer (known at
	// load from .proto files; with reflection, at preflight).
	ServerStreaming bool
	// Descriptors is the serialized FileDescriptorSet of the service's file
	// and its imports; nil with reflection.
	Descriptors []byte

	node, targetNode, methodNode *yaml.Node
}

// grpcSection decodes the top-level grpc section and compiles its .proto
// files.
func (d *decoder) grpcSection(n *yaml.Node) *GRPCSection {
	g := &GRPCSection{}
	d.grpc = g
	fs := d.fields(n, "in grpc", grpcSectionKeys, nil)
	if f, ok := fs["target"]; ok {
		g.targetNode = f.val
		g.Target = d.grpcTarget(f.val, "grpc.target", "grpc.target")
	}
	if f, ok := fs["reflect"]; ok {
		g.Reflect = d.boolean(f.val, "grpc.reflect")
	}
	var protoNodes []*yaml.Node
	if f, ok := fs["proto"]; ok {
		for _, it := range d.oneOrMany(f.val) {
			if p, ok := d.str(it, "grpc.proto"); ok && p != "" {
				g.Proto = append(g.Proto, p)
				protoNodes = append(protoNodes, it)
			} else if ok {
				d.el.node(it, "grpc.proto must not be empty")
			}
		}
		if len(protoNodes) > maxProtoFiles {
			d.el.node(f.val, "grpc.proto lists %d files, the limit is %d", len(protoNodes), maxProtoFiles)
			protoNodes = nil
		}
	}
	var importNodes []*yaml.Node
	if f, ok := fs["import_paths"]; ok {
		for _, it := range d.oneOrMany(f.val) {
			if p, ok := d.str(it, "grpc.import_paths"); ok {
				g.ImportPaths = append(g.ImportPaths, p)
				importNodes = append(importNodes, it)
			}
		}
	}
	switch {
	case g.Reflect && len(protoNodes) > 0:
		d.el.node(fs["reflect"].key, "grpc: reflect: true and proto files do not go together: the descriptors come from one of them")
		g.failed = true
	case !g.Reflect && len(protoNodes) == 0 && n.Kind == yaml.MappingNode:
		if _, given := fs["proto"]; !given {
			d.el.node(n, "grpc needs proto (the .proto files of the services called) or reflect: true (ask the server)")
		}
		g.failed = true
	case g.Reflect:
		if f, ok := fs["import_paths"]; ok {
			d.el.node(f.key, "grpc.import_paths is for proto files; with reflect: true the server gives the descriptors")
		}
	default:
		g.files = d.compileProtos(protoNodes, importNodes)
		g.failed = g.files == nil
	}
	return g
}

// checkGRPCTarget returns what is wrong with a grpc target, or "".
func checkGRPCTarget(t string) string {
	if !strings.Contains(t, "://") {
		return fmt.Sprintf("want http://%s (plaintext) or https://%s (TLS), got %q", t, t, t)
	}
	if msg := checkAbsURL(t); msg != "" {
		return msg
	}
	_, rest, _ := strings.Cut(t, "://")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 && rest[i:] != "/" {
		return fmt.Sprintf("%q has a path: a gRPC target is scheme://host:port (the method names the path)", t)
	}
	return ""
}

// compileProtos compiles the proto files (paths relative to the scenario)
// with their imports, and reports each error at the file's entry with the
// position inside the .proto. It returns nil after an error.
func (d *decoder) compileProtos(protos, imports []*yaml.Node) *protoregistry.Files {
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		return filepath.Join(d.dir, p)
	}
	var paths []string
	ok := true
	for _, n := range imports {
		p := abs(n.Value)
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			d.el.node(n, "grpc.import_paths %s is not a directory", n.Value)
			ok = false
			continue
		}
		paths = append(paths, p)
	}
	// A file inside an import path is named relative to it (as protoc
	// names it, so that another file's import of it is the same file);
	// any other is named by its base name, its directory searched too (as
	// ghz does).
	names := make([]string, 0, len(protos))
	nodeOf := map[string]*yaml.Node{}
	for _, n := range protos {
		p := abs(n.Value)
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			if err != nil {
				d.el.node(n, "grpc.proto %s: %v", n.Value, unwrapPathError(err))
			} else {
				d.el.node(n, "grpc.proto %s is not a regular file", n.Value)
			}
			ok = false
			continue // the others are still compiled, for their errors
		}
		name := ""
		for _, ip := range paths {
			if rel, err := filepath.Rel(ip, p); err == nil && !strings.HasPrefix(rel, "..") {
				name = filepath.ToSlash(rel)
				break
			}
		}
		if name == "" {
			name = filepath.Base(p)
			if dir := filepath.Dir(p); !slices.Contains(paths, dir) {
				paths = append(paths, dir)
			}
		}
		if _, dup := nodeOf[name]; dup {
			d.el.node(n, "grpc.proto %s is listed twice (as %s)", n.Value, name)
			ok = false
			continue
		}
		names = append(names, name)
		nodeOf[name] = n
	}
	if len(names) == 0 {
		return nil
	}
	var errs []reporter.ErrorWithPos
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: paths}),
		Reporter: reporter.NewReporter(func(err reporter.ErrorWithPos) error {
			errs = append(errs, err)
			return nil // go on: report every error of the files at once
		}, nil),
	}
	res, err := c.Compile(context.Background(), names...)
	if len(errs) > 0 || err != nil {
		d.protoErrors(errs, err, names, nodeOf, protos[0])
		return nil
	}
	if !ok {
		return nil
	}
	files := &protoregistry.Files{}
	var add func(fd protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) {
		if _, err := files.FindFileByPath(fd.Path()); err == nil {
			return
		}
		for i := 0; i < fd.Imports().Len(); i++ {
			add(fd.Imports().Get(i).FileDescriptor)
		}
		_ = files.RegisterFile(fd) // the compiler linked them: no conflict
	}
	for _, fd := range res {
		add(fd)
	}
	return files
}

// protoErrors reports the compiler's errors at the entry of the file they
// are in (or the first entry, for an imported file).
func (d *decoder) protoErrors(errs []reporter.ErrorWithPos, err error, names []string, nodeOf map[string]*yaml.Node, first *yaml.Node) {
	at := func(file string) *yaml.Node {
		if n, ok := nodeOf[file]; ok {
			return n
		}
		return first
	}
	if len(errs) == 0 {
		var ep reporter.ErrorWithPos
		if errors.As(err, &ep) {
			errs = append(errs, ep)
		} else {
			// No position: a file the compiler could not open.
			d.el.node(first, "grpc.proto: %v", unwrapPathError(err))
			return
		}
	}
	for _, e := range errs {
		pos := e.GetPosition()
		msg := e.Unwrap().Error()
		if pos.Filename == "" {
			d.el.node(at(names[0]), "grpc.proto: %s", msg)
			continue
		}
		d.el.node(at(pos.Filename), "grpc.proto: %s:%d:%d: %s", pos.Filename, pos.Line, pos.Col, msg)
	}
}

// grpcTarget decodes a gRPC target (host:port, no template) of the grpc
// section or of a step; "" when it is wrong (reported). what and tmpl
// name it in the errors of a wrong type and of a template.
func (d *decoder) grpcTarget(n *yaml.Node, what, tmpl string) string {
	t, ok := d.str(n, what)
	if !ok || !d.noTemplate(n, tmpl) {
		return ""
	}
	if msg := checkGRPCTarget(t); msg != "" {
		d.el.node(n, "grpc.target: %s", msg)
		return ""
	}
	return t
}

// notForGRPC reports the keys of a step that have no meaning for a gRPC
// step (fs is the step's mapping) and drops them.
func (d *decoder) notForGRPC(fs map[string]field) {
	for k, why := range notOnGRPC {
		if f, ok := fs[k]; ok {
			d.el.node(f.key, "%s does not apply to a gRPC step: %s", k, why)
			delete(fs, k)
		}
	}
}

// grpcStep decodes a step's grpc key (n): its service, method, message
// and target. The other keys of the step (headers, timeout, check,
// capture, think, max_body) are decoded as for HTTP.
func (d *decoder) grpcStep(n *yaml.Node, s *StepSpec, path string) {
	g := &GRPCSpec{node: n}
	s.GRPC = g
	gw := "in " + path
	gs := d.fields(n, gw, grpcStepKeys, nil)
	d.require(n, gs, gw, "service", "method")
	if v, ok := gs["target"]; ok {
		g.targetNode = v.val
		g.Target = d.grpcTarget(v.val, "grpc target", "a gRPC target")
	}
	sec := d.grpc
	if sec == nil && n.Kind == yaml.MappingNode {
		d.el.node(n, "a gRPC step needs the top-level grpc section: its target, and proto files or reflect: true")
	}
	var sd protoreflect.ServiceDescriptor
	if v, ok := gs["service"]; ok {
		if name, ok := d.str(v.val, "grpc service"); ok {
			g.Service = name
			if !validFullName(name) {
				d.el.node(v.val, "grpc service %q: want a full name such as shop.Cart (package and service)", name)
			} else if sec != nil && sec.files != nil {
				sd = d.findService(sec.files, v.val, name)
			}
		}
	}
	var md protoreflect.MethodDescriptor
	if v, ok := gs["method"]; ok {
		g.methodNode = v.val
		if name, ok := d.str(v.val, "grpc method"); ok {
			g.Method = name
			switch {
			case !validFullName(name) || strings.Contains(name, "."):
				d.el.node(v.val, "grpc method %q: want the method's name alone, such as Add", name)
			case sd != nil:
				md = sd.Methods().ByName(protoreflect.Name(name))
				if md == nil {
					d.el.node(v.val, "service %s has no method %s%s", g.Service, name, didYouMean(name, methodNames(sd)))
				} else if md.IsStreamingClient() {
					d.el.node(v.val, "%s/%s is client-streaming: loadgate calls unary and server-streaming methods only", g.Service, name)
					md = nil
				}
			}
		}
	}
	msgNode, hasMsg := gs["message"]
	var w strings.Builder
	switch {
	case md != nil && hasMsg:
		if d.grpcMessage(&w, msgNode.val, md.Input(), "message") {
			g.Message = []byte(w.String())
		}
	case md != nil:
		g.Message = []byte("{}")
	case hasMsg && msgNode.val.Kind != yaml.MappingNode:
		d.el.node(msgNode.val, "expected a mapping for grpc.message (the request's fields), got %s", kindName(msgNode.val))
	case hasMsg:
		// With reflection (or after an error above), the fields are
		// checked when the method is resolved.
		if d.jsonValue(&w, msgNode.val) {
			g.Message = []byte(w.String())
		}
	default:
		g.Message = []byte("{}")
	}
	if md != nil {
		g.ServerStreaming = md.IsStreamingServer()
		g.Descriptors = sec.descriptorSet(sd.ParentFile())
	}
}

// reservedMetadata reports a metadata key that gRPC sets itself
// (engine.checkMetadataKey refuses them in a plan).
func reservedMetadata(key string) bool {
	return strings.HasPrefix(key, "grpc-") || key == "content-type" || key == "te" || key == "host"
}

// validFullName reports whether s is a dotted protobuf name (shop.Cart).
func validFullName(s string) bool {
	return s != "" && protoreflect.FullName(s).IsValid()
}

func methodNames(sd protoreflect.ServiceDescriptor) []string {
	var out []string
	for i := 0; i < sd.Methods().Len(); i++ {
		out = append(out, string(sd.Methods().Get(i).Name()))
	}
	return out
}

// didYouMean is "; did you mean X?" for the closest candidate, or the list
// of candidates when none is close.
func didYouMean(s string, candidates []string) string {
	if len(candidates) == 0 {
		return ""
	}
	if best := suggestExact(s, candidates); best != "" {
		return "; did you mean " + quote(best) + "?"
	}
	return " (it has " + strings.Join(candidates, ", ") + ")"
}

// suggestExact is suggest for names whose case matters.
func suggestExact(s string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := levenshtein(strings.ToLower(s), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(1, len(s)/2) {
		return ""
	}
	return best
}

// findService finds a service in the compiled files, reporting its
// absence at n.
func (d *decoder) findService(files *protoregistry.Files, n *yaml.Node, name string) protoreflect.ServiceDescriptor {
	desc, err := files.FindDescriptorByName(protoreflect.FullName(name))
	if err == nil {
		if sd, ok := desc.(protoreflect.ServiceDescriptor); ok {
			return sd
		}
		d.el.node(n, "grpc service %s is not a service (it is a %s)", name, descKind(desc))
		return nil
	}
	var services []string
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		for i := 0; i < fd.Services().Len(); i++ {
			services = append(services, string(fd.Services().Get(i).FullName()))
		}
		return true
	})
	slices.Sort(services)
	if len(services) == 0 {
		d.el.node(n, "no service %s: the proto files declare no service", name)
		return nil
	}
	d.el.node(n, "no service %s in the proto files%s", name, didYouMean(name, services))
	return nil
}

func descKind(d protoreflect.Descriptor) string {
	switch d.(type) {
	case protoreflect.MessageDescriptor:
		return "message"
	case protoreflect.EnumDescriptor:
		return "enum"
	case protoreflect.MethodDescriptor:
		return "method"
	}
	return "declaration"
}

// descriptorSet returns the serialized FileDescriptorSet of fd and its
// imports (imports first), cached per file.
func (g *GRPCSection) descriptorSet(fd protoreflect.FileDescriptor) []byte {
	if b, ok := g.sets[fd.Path()]; ok {
		return b
	}
	set := &descriptorpb.FileDescriptorSet{}
	seen := map[string]bool{}
	var add func(f protoreflect.FileDescriptor)
	add = func(f protoreflect.FileDescriptor) {
		if seen[f.Path()] {
			return
		}
		seen[f.Path()] = true
		for i := 0; i < f.Imports().Len(); i++ {
			add(f.Imports().Get(i).FileDescriptor)
		}
		set.File = append(set.File, protodesc.ToFileDescriptorProto(f))
	}
	add(fd)
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(set)
	if err != nil {
		return nil // cannot happen for linked descriptors; the engine reports nil
	}
	if g.sets == nil {
		g.sets = map[string][]byte{}
	}
	g.sets[fd.Path()] = b
	return b
}

// grpcMessage writes the YAML mapping n as the JSON of message md,
// checking each field against the descriptor (its name, its type, enum
// values) and reporting at the offending node. what names n in errors.
func (d *decoder) grpcMessage(w *strings.Builder, n *yaml.Node, md protoreflect.MessageDescriptor, what string) bool {
	if wkt := wellKnown(md); wkt != "" {
		return d.grpcWellKnown(w, n, md, wkt, what)
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		w.WriteString("null")
		return true
	}
	if n.Kind != yaml.MappingNode {
		d.el.node(n, "%s is a %s message: want a mapping of its fields, got %s%s", what, md.FullName(), kindName(n), d.hint(n))
		return false
	}
	ok := true
	seen := map[protoreflect.FullName]*yaml.Node{}
	oneofs := map[protoreflect.FullName]*yaml.Node{}
	first := true
	w.WriteByte('{')
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.el.node(k, "expected a field name in %s, got %s", what, kindName(k))
			ok = false
			continue
		}
		fd := md.Fields().ByName(protoreflect.Name(k.Value))
		if fd == nil {
			fd = md.Fields().ByJSONName(k.Value)
		}
		if fd == nil {
			d.el.node(k, "%s (a %s) has no field %q%s", what, md.FullName(), k.Value, didYouMean(k.Value, fieldNames(md)))
			ok = false
			continue
		}
		if prev, dup := seen[fd.FullName()]; dup {
			d.el.node(k, "field %s is set twice in %s (first at line %d)", fd.Name(), what, prev.Line)
			ok = false
			continue
		}
		seen[fd.FullName()] = k
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if prev, dup := oneofs[od.FullName()]; dup {
				d.el.node(k, "fields %s and %s of %s are one of %s: set only one", prev.Value, k.Value, what, od.Name())
				ok = false
				continue
			}
			oneofs[od.FullName()] = k
		}
		if !first {
			w.WriteByte(',')
		}
		first = false
		writeJSONString(w, k.Value)
		w.WriteByte(':')
		ok = d.grpcField(w, v, fd, what+"."+k.Value) && ok
	}
	w.WriteByte('}')
	return ok
}

func fieldNames(md protoreflect.MessageDescriptor) []string {
	out := make([]string, 0, md.Fields().Len())
	for i := 0; i < md.Fields().Len(); i++ {
		out = append(out, string(md.Fields().Get(i).Name()))
	}
	return out
}

// grpcField writes one field's value.
func (d *decoder) grpcField(w *strings.Builder, n *yaml.Node, fd protoreflect.FieldDescriptor, what string) bool {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		w.WriteString("null")
		return true
	}
	switch {
	case fd.IsMap():
		if n.Kind != yaml.MappingNode {
			d.el.node(n, "%s is a map: want a mapping, got %s", what, kindName(n))
			return false
		}
		ok := true
		w.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if i > 0 {
				w.WriteByte(',')
			}
			if k.Kind != yaml.ScalarNode || !d.mapKey(k, fd.MapKey(), what) {
				ok = false
				continue
			}
			writeJSONString(w, k.Value)
			w.WriteByte(':')
			ok = d.grpcValue(w, v, fd.MapValue(), what+"."+k.Value) && ok
		}
		w.WriteByte('}')
		return ok
	case fd.IsList():
		if n.Kind != yaml.SequenceNode {
			d.el.node(n, "%s is repeated: want a list, got %s%s", what, kindName(n), d.hint(n))
			return false
		}
		ok := true
		w.WriteByte('[')
		for i, it := range n.Content {
			if i > 0 {
				w.WriteByte(',')
			}
			ok = d.grpcValue(w, it, fd, what+"["+itoa(i)+"]") && ok
		}
		w.WriteByte(']')
		return ok
	}
	return d.grpcValue(w, n, fd, what)
}

// mapKey checks a map's key against the key field's kind.
func (d *decoder) mapKey(k *yaml.Node, kd protoreflect.FieldDescriptor, what string) bool {
	if !d.noTemplate(k, "a map key") {
		return false
	}
	switch kd.Kind() {
	case protoreflect.BoolKind:
		if k.Value != "true" && k.Value != "false" {
			d.el.node(k, "%s has bool keys: want true or false, got %q", what, k.Value)
			return false
		}
	case protoreflect.StringKind:
	default:
		if _, err := strconv.ParseInt(k.Value, 10, 64); err != nil {
			if _, err := strconv.ParseUint(k.Value, 10, 64); err != nil {
				d.el.node(k, "%s has %s keys: want an integer, got %q", what, kd.Kind(), k.Value)
				return false
			}
		}
	}
	return true
}

// grpcValue writes one value of a field (an element of a repeated field,
// a map's value).
func (d *decoder) grpcValue(w *strings.Builder, n *yaml.Node, fd protoreflect.FieldDescriptor, what string) bool {
	if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
		return d.grpcMessage(w, n, fd.Message(), what)
	}
	if n.Kind != yaml.ScalarNode {
		d.el.node(n, "%s is %s: want a single value, got %s", what, kindText(fd), kindName(n))
		return false
	}
	tag := d.tag(n)
	isStr := tag == "!!str"
	templated := isStr && engine.HasTemplate(n.Value)
	if templated && !d.template(n) {
		return false
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		writeJSONString(w, n.Value) // numbers and booleans read as text
		return true
	case protoreflect.BoolKind:
		switch {
		case templated && isOneTemplate(n.Value):
			w.WriteString(n.Value) // renders true or false
			return true
		case templated:
			d.el.node(n, "%s is a bool: a template there must stand alone ({{ name }}), got %q", what, n.Value)
			return false
		case n.Value == "true" || n.Value == "false":
			w.WriteString(n.Value)
			return true
		}
		d.el.node(n, "%s is a bool: want true or false, got %s", what, scalarText(n))
		return false
	case protoreflect.EnumKind:
		return d.grpcEnum(w, n, fd.Enum(), what, templated)
	case protoreflect.BytesKind:
		if !isStr {
			d.el.node(n, "%s is bytes: want a base64 string, got %s", what, kindName(n))
			return false
		}
		if !templated {
			if _, err := base64.StdEncoding.DecodeString(n.Value); err != nil {
				if _, err := base64.URLEncoding.DecodeString(n.Value); err != nil {
					d.el.node(n, "%s is bytes: want base64 (the proto3 JSON form), got %q", what, n.Value)
					return false
				}
			}
		}
		writeJSONString(w, n.Value)
		return true
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		v, err := parseNumber(n.Value)
		switch {
		case templated, isStr && (err == nil || slices.Contains([]string{"NaN", "Infinity", "-Infinity"}, n.Value)):
			writeJSONString(w, n.Value) // proto3 JSON reads numbers from strings
			return true
		case !isStr && err == nil && !math.IsInf(v, 0) && !math.IsNaN(v):
			w.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			return true
		}
		d.el.node(n, "%s is %s: want a finite number (or the string NaN, Infinity or -Infinity), got %s", what, kindText(fd), scalarText(n))
		return false
	}
	// integers
	if templated {
		writeJSONString(w, n.Value) // proto3 JSON reads integers from strings
		return true
	}
	lo, hi := intRange(fd.Kind())
	v, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil {
		// uint64 above int64
		u, uerr := strconv.ParseUint(n.Value, 0, 64)
		if uerr != nil || hi != math.MaxUint64 {
			d.el.node(n, "%s is %s: want an integer, got %s", what, kindText(fd), scalarText(n))
			return false
		}
		w.WriteString(strconv.FormatUint(u, 10))
		return true
	}
	if float64(v) < lo || float64(v) > hi {
		d.el.node(n, "%s is %s: %d is out of its range", what, kindText(fd), v)
		return false
	}
	w.WriteString(strconv.FormatInt(v, 10))
	return true
}

// intRange is the range of an integer kind.
func intRange(k protoreflect.Kind) (lo, hi float64) {
	switch k {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return math.MinInt32, math.MaxInt32
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return 0, math.MaxUint32
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return 0, math.MaxUint64
	}
	return math.MinInt64, math.MaxInt64
}

// kindText names a field's type in errors.
func kindText(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.EnumKind:
		return "an enum " + string(fd.Enum().FullName())
	case protoreflect.Int32Kind, protoreflect.Int64Kind:
		return "an " + fd.Kind().String()
	}
	return "a " + fd.Kind().String()
}

// isOneTemplate reports whether s is one {{ ... }} and nothing else.
func isOneTemplate(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "{{") && strings.Index(s, "}}") == len(s)-2
}

func (d *decoder) grpcEnum(w *strings.Builder, n *yaml.Node, ed protoreflect.EnumDescriptor, what string, templated bool) bool {
	if templated {
		writeJSONString(w, n.Value) // renders a value's name
		return true
	}
	if v, err := strconv.ParseInt(n.Value, 0, 32); err == nil && d.tag(n) == "!!int" {
		w.WriteString(strconv.FormatInt(v, 10))
		return true
	}
	if ed.Values().ByName(protoreflect.Name(n.Value)) == nil {
		var names []string
		for i := 0; i < ed.Values().Len(); i++ {
			names = append(names, string(ed.Values().Get(i).Name()))
		}
		d.el.node(n, "%s is an enum %s: no value %q%s", what, ed.FullName(), n.Value, didYouMean(n.Value, names))
		return false
	}
	writeJSONString(w, n.Value)
	return true
}

// wellKnown names the well-known types whose JSON form is not an object of
// their fields, or "".
func wellKnown(md protoreflect.MessageDescriptor) string {
	name := string(md.FullName())
	if !strings.HasPrefix(name, "google.protobuf.") {
		return ""
	}
	switch t := strings.TrimPrefix(name, "google.protobuf."); t {
	case "Timestamp", "Duration", "FieldMask", "Struct", "Value", "ListValue", "Any", "Empty",
		"DoubleValue", "FloatValue", "Int64Value", "UInt64Value", "Int32Value", "UInt32Value", "BoolValue", "StringValue", "BytesValue":
		return t
	}
	return ""
}

// grpcWellKnown writes a well-known type in its JSON form: wrappers as
// their value, Timestamp, Duration and FieldMask as strings, Struct, Value
// and ListValue as any JSON. Their content is checked by the encoder.
func (d *decoder) grpcWellKnown(w *strings.Builder, n *yaml.Node, md protoreflect.MessageDescriptor, wkt, what string) bool {
	switch wkt {
	case "Timestamp", "Duration", "FieldMask":
		if n.Kind != yaml.ScalarNode || d.tag(n) != "!!str" {
			d.el.node(n, "%s is a google.protobuf.%s: want a string (%s), got %s", what, wkt, map[string]string{
				"Timestamp": "RFC 3339, such as 2025-01-02T15:04:05Z", "Duration": "seconds with an s, such as 1.5s", "FieldMask": "paths separated by commas"}[wkt], kindName(n))
			return false
		}
		if !d.template(n) {
			return false
		}
		writeJSONString(w, n.Value)
		return true
	case "Struct", "Value", "ListValue", "Any", "Empty":
		if wkt == "Struct" || wkt == "Empty" || wkt == "Any" {
			if n.Kind != yaml.MappingNode {
				d.el.node(n, "%s is a google.protobuf.%s: want a mapping, got %s", what, wkt, kindName(n))
				return false
			}
		}
		if wkt == "ListValue" && n.Kind != yaml.SequenceNode {
			d.el.node(n, "%s is a google.protobuf.ListValue: want a list, got %s", what, kindName(n))
			return false
		}
		return d.jsonValue(w, n)
	}
	// wrappers: the wrapped value
	return d.grpcValue(w, n, md.Fields().ByName("value"), what)
}

// grpcStatus reads a status of a gRPC step's check status: a name (OK,
// NOT_FOUND) or a code number 0..16.
func (d *decoder) grpcStatus(n *yaml.Node) (int, bool) {
	if n.Kind != yaml.ScalarNode {
		d.el.node(n, "expected a gRPC status for check status, got %s", kindName(n))
		return 0, false
	}
	if c, ok := grpcstatus.Parse(n.Value); ok {
		return int(c), true
	}
	msg := "check status of a gRPC step: want a status name such as OK or NOT_FOUND, or a code from 0 to 16, got " + quote(n.Value)
	if s := suggestExact(strings.ToUpper(n.Value), grpcstatus.Names()); s != "" {
		msg += "; did you mean " + quote(s) + "?"
	}
	d.el.node(n, "%s", msg)
	return 0, false
}

// compileGRPC fills the engine step of a gRPC step: its target, its
// message as a JSON body and the call.
func (c *compiler) compileGRPC(sp *StepSpec, st *engine.Step) {
	g := sp.GRPC
	sec := c.spec.GRPC
	if g.Service == "" || g.Method == "" {
		return // reported
	}
	target := g.Target
	if target == "" && sec != nil {
		target = sec.Target
	}
	if target == "" {
		if sec != nil && sec.targetNode == nil {
			c.el.node(g.node, "a gRPC step needs a target: grpc.target at the top level (http://host:port, or https:// for TLS), or target in the step's grpc")
		}
		return
	}
	st.URL = strings.TrimSuffix(target, "/")
	// Metadata: a header gRPC sets itself is an error in the step's own
	// headers, and left out when it comes from defaults.headers (which
	// HTTP steps share).
	md := st.Headers[:0:0]
	for _, h := range st.Headers {
		key := strings.ToLower(h.Key)
		if !reservedMetadata(key) {
			md = append(md, h)
			continue
		}
		for _, own := range sp.Headers {
			if strings.EqualFold(own.Key, h.Key) {
				c.el.node(g.node, "step %q: header %s is gRPC's own (the call sets it): drop it from the step's headers", sp.Name, h.Key)
			}
		}
	}
	st.Headers = md
	st.Body, st.BodyEscape = g.Message, engine.EscapeJSON
	st.GRPC = &engine.GRPCCall{
		Method:          g.Service + "/" + g.Method,
		ServerStreaming: g.ServerStreaming,
		Descriptors:     g.Descriptors,
		Reflect:         sec != nil && sec.Reflect,
	}
	st.Protocol = engine.ProtoGRPC
	st.MaxRedirects = 0
	for _, cp := range sp.Captures {
		if cp.From == engine.CaptureHeader {
			c.el.node(sp.captureNode, "capture %s: a gRPC step has no response headers to capture from; capture json from the response message", cp.Name)
		}
	}
}
