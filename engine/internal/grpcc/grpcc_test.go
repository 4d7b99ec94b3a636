package grpcc

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/loadgate/loadgate/internal/grpctarget"
)

func start(t testing.TB, opt grpctarget.Options) (*grpctarget.Server, string) {
	t.Helper()
	return grpctarget.StartTest(t, opt)
}

func dial(t testing.TB, addr string) *Conn {
	t.Helper()
	c, err := Dial("http://"+addr, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func method(t testing.TB, s *grpctarget.Server, name string) *Method {
	t.Helper()
	m, err := FindMethod(s.Files(), grpctarget.Service, name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestUnaryAndJSONView(t *testing.T) {
	s, addr := start(t, grpctarget.Options{})
	c := dial(t, addr)
	m := method(t, s, "Add")
	codec := NewCodec(m)
	wire, err := codec.Encode(nil, []byte(`{"cart_id":"c-1","item":"42","quantity":2}`))
	if err != nil {
		t.Fatal(err)
	}
	resp := &Frame{Keep: true}
	if err := c.Unary(context.Background(), m.Path, &Frame{B: wire}, resp); err != nil {
		t.Fatal(err)
	}
	js, err := codec.JSON(nil, resp.B)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"cart_id":"c-1","lines":[{"item":42,"quantity":2}],"count":2,"status":"OPEN"}`
	if got := strings.ReplaceAll(string(js), " ", ""); got != want {
		t.Fatalf("JSON view %s, want %s", got, want)
	}
	if s.CallsOf("Add") != 1 {
		t.Fatalf("calls %d", s.CallsOf("Add"))
	}
	// Not kept: counted only.
	resp = &Frame{}
	if err := c.Unary(context.Background(), m.Path, &Frame{B: wire, Static: true}, resp); err != nil || len(resp.B) != 0 || resp.N == 0 {
		t.Fatalf("err %v, kept %d bytes, counted %d", err, len(resp.B), resp.N)
	}
}

func TestEncodeErrors(t *testing.T) {
	s, _ := start(t, grpctarget.Options{})
	codec := NewCodec(method(t, s, "Add"))
	for _, js := range []string{`{"itme":1}`, `{"item":"x"}`, `{"gift":"yes"}`, `[1]`} {
		if _, err := codec.Encode(nil, []byte(js)); err == nil {
			t.Errorf("%s encoded", js)
		}
	}
}

func TestServerStream(t *testing.T) {
	s, addr := start(t, grpctarget.Options{WatchInterval: time.Millisecond})
	c := dial(t, addr)
	m := method(t, s, "Watch")
	if !m.ServerStreaming() {
		t.Fatal("Watch is server-streaming")
	}
	codec := NewCodec(m)
	wire, _ := codec.Encode(nil, []byte(`{"cart_id":"x","events":5}`))
	resp := &Frame{Keep: true}
	var seqs []string
	n, err := c.ServerStream(context.Background(), m.Path, &Frame{B: wire}, resp, func(f *Frame) {
		js, err := codec.JSON(nil, f.B)
		if err != nil {
			t.Error(err)
		}
		seqs = append(seqs, string(js))
	})
	if err != nil || n != 5 || len(seqs) != 5 || !strings.Contains(seqs[4], `"seq":5`) {
		t.Fatalf("n %d err %v: %v", n, err, seqs)
	}
}

func TestStatusAndMetadata(t *testing.T) {
	s, addr := start(t, grpctarget.Options{})
	c := dial(t, addr)
	m := method(t, s, "Get")
	ctx := WithMetadata(context.Background(), metadata.Pairs("x-fail", "RESOURCE_EXHAUSTED"))
	err := c.Unary(ctx, m.Path, &Frame{}, &Frame{})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("x-fail: %v", err)
	}
	err = c.Unary(context.Background(), m.Path, &Frame{}, &Frame{})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("unknown cart: %v", err)
	}
	ctx, cancel := context.WithTimeout(WithMetadata(context.Background(), metadata.Pairs("x-delay", "1s")), 50*time.Millisecond)
	defer cancel()
	if err := c.Unary(ctx, m.Path, &Frame{}, &Frame{}); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("deadline: %v", err)
	}
	if err := c.Unary(context.Background(), "/shop.Cart/Nope", &Frame{}, &Frame{}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("unknown method: %v", err)
	}
}

func TestReflect(t *testing.T) {
	_, addr := start(t, grpctarget.Options{})
	c := dial(t, addr)
	m, err := Reflect(context.Background(), c, "shop.Cart", "Watch")
	if err != nil || !m.ServerStreaming() || m.Path != grpctarget.Watch {
		t.Fatalf("%v %v", m, err)
	}
	if _, err := Reflect(context.Background(), c, "shop.Cart", "Nope"); err == nil || !strings.Contains(err.Error(), "no method Nope") {
		t.Fatalf("bad method: %v", err)
	}
	if _, err := Reflect(context.Background(), c, "shop.Basket", "Add"); err == nil || !strings.Contains(err.Error(), "no service shop.Basket") {
		t.Fatalf("bad service: %v", err)
	}
}

func TestDialError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := dial(t, addr)
	err = c.Unary(context.Background(), grpctarget.Get, &Frame{}, &Frame{})
	if status.Code(err) != codes.Unavailable || !errors.Is(c.DialError(), syscall.ECONNREFUSED) {
		t.Fatalf("call %v, dial error %v", err, c.DialError())
	}
	if err := c.Connect(time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("connect: %v", err)
	}
}

func TestSplitMethod(t *testing.T) {
	for in, ok := range map[string]bool{"shop.Cart/Add": true, "/shop.Cart/Add": true, "shop.Cart": false, "a/b/c": false, "/Add": false} {
		if _, _, err := SplitMethod(in); (err == nil) != ok {
			t.Errorf("%s: %v", in, err)
		}
	}
}
