package grpcc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jhump/protoreflect/v2/grpcreflect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Method is a method resolved to its descriptor.
type Method struct {
	// Path is what goes on the wire: /pkg.Service/Method.
	Path string
	Desc protoreflect.MethodDescriptor
}

// ServerStreaming reports whether the server answers with a stream.
func (m *Method) ServerStreaming() bool { return m.Desc.IsStreamingServer() }

// SplitMethod splits "pkg.Service/Method" (a leading / allowed) into the
// service's full name and the method's name.
func SplitMethod(full string) (service, method string, err error) {
	s, m, ok := strings.Cut(strings.TrimPrefix(full, "/"), "/")
	if !ok || s == "" || m == "" || strings.Contains(m, "/") {
		return "", "", fmt.Errorf("grpc: method %q: want package.Service/Method", full)
	}
	return s, m, nil
}

// FindMethod finds service/method in a resolver of descriptors.
func FindMethod(files interface {
	FindDescriptorByName(protoreflect.FullName) (protoreflect.Descriptor, error)
}, service, method string) (*Method, error) {
	d, err := files.FindDescriptorByName(protoreflect.FullName(service))
	if err != nil {
		return nil, fmt.Errorf("grpc: no service %s", service)
	}
	sd, ok := d.(protoreflect.ServiceDescriptor)
	if !ok {
		return nil, fmt.Errorf("grpc: %s is not a service", service)
	}
	md := sd.Methods().ByName(protoreflect.Name(method))
	if md == nil {
		return nil, fmt.Errorf("grpc: service %s has no method %s", service, method)
	}
	if md.IsStreamingClient() {
		return nil, fmt.Errorf("grpc: %s/%s is client-streaming: loadgate calls unary and server-streaming methods only", service, method)
	}
	return &Method{Path: "/" + service + "/" + method, Desc: md}, nil
}

// LoadMethod finds service/method in a serialized FileDescriptorSet.
func LoadMethod(set []byte, service, method string) (*Method, error) {
	var fds descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(set, &fds); err != nil {
		return nil, fmt.Errorf("grpc: descriptors: %w", err)
	}
	files, err := protodesc.NewFiles(&fds)
	if err != nil {
		return nil, fmt.Errorf("grpc: descriptors: %w", err)
	}
	return FindMethod(files, service, method)
}

// ErrNoSuchMethod is what Reflect's error wraps when the server's
// reflection answered and the method as written is not one it can call:
// the scenario is wrong, not the server unreachable.
var ErrNoSuchMethod = errors.New("no such method")

// Reflect resolves service/method through the server reflection service
// of c (v1, or v1alpha for older servers). A server without reflection
// fails with UNIMPLEMENTED.
func Reflect(ctx context.Context, c *Conn, service, method string) (*Method, error) {
	rc := grpcreflect.NewClientAuto(ctx, c.cc)
	defer rc.Reset()
	fd, err := rc.FileContainingSymbol(protoreflect.FullName(service))
	if err != nil {
		if grpcreflect.IsElementNotFoundError(err) {
			return nil, fmt.Errorf("grpc: the server's reflection knows no service %s: %w", service, ErrNoSuchMethod)
		}
		return nil, fmt.Errorf("grpc: reflection: %w", err)
	}
	sd := fd.Services().ByName(protoreflect.FullName(service).Name())
	if sd == nil {
		return nil, fmt.Errorf("grpc: the server's reflection knows no service %s: %w", service, ErrNoSuchMethod)
	}
	md := sd.Methods().ByName(protoreflect.Name(method))
	if md == nil {
		return nil, fmt.Errorf("grpc: service %s has no method %s (server reflection): %w", service, method, ErrNoSuchMethod)
	}
	if md.IsStreamingClient() {
		return nil, fmt.Errorf("grpc: %s/%s is client-streaming: loadgate calls unary and server-streaming methods only: %w", service, method, ErrNoSuchMethod)
	}
	return &Method{Path: "/" + service + "/" + method, Desc: md}, nil
}

// jsonView is how a response is shown to checks and captures: the field
// names of the .proto (cart_id, not cartId), and fields at their zero
// value included, so that a check can see a 0 or an empty string.
var jsonView = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}

// Codec encodes requests from JSON and decodes responses to JSON for one
// method. It is one worker's: not safe for concurrent use.
type Codec struct {
	m       *Method
	in, out *dynamicpb.Message
}

// NewCodec returns a codec for m.
func NewCodec(m *Method) *Codec {
	return &Codec{m: m, in: dynamicpb.NewMessage(m.Desc.Input()), out: dynamicpb.NewMessage(m.Desc.Output())}
}

// Encode appends to dst the wire form of the request written as JSON
// (the proto3 JSON mapping: field names as in the .proto or in
// lowerCamelCase, 64-bit integers as numbers or strings, enums by name).
func (c *Codec) Encode(dst, jsonText []byte) ([]byte, error) {
	if err := protojson.Unmarshal(jsonText, c.in); err != nil {
		return dst, fmt.Errorf("message for %s: %w", c.m.Path, err)
	}
	return proto.MarshalOptions{}.MarshalAppend(dst, c.in)
}

// JSON appends the JSON view of a response's wire form to dst.
func (c *Codec) JSON(dst, wire []byte) ([]byte, error) {
	c.out.Reset()
	if err := proto.Unmarshal(wire, c.out); err != nil {
		return dst, fmt.Errorf("response of %s: %w", c.m.Path, err)
	}
	return jsonView.MarshalAppend(dst, c.out)
}
