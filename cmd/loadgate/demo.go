package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/loadgate/loadgate/examples"
	"github.com/loadgate/loadgate/internal/demotarget"
	"github.com/loadgate/loadgate/internal/grpctarget"
	"github.com/loadgate/loadgate/scenarios"
)

// demoCmd starts the built-in target on a free loopback port and runs the
// embedded examples/demo.yaml against it.
func demoCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "demo [-o FORMAT=PATH]... [--quiet]", stdout, stderr)
	var f runFlags
	f.register(fs, false)
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if err := f.resolve(stderr); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("demo takes no arguments")
	}
	if err := checkOutputs(f.outputs, true); err != nil { // outputs.go
		return err
	}
	ln, err := demotarget.Listen("127.0.0.1:0", false)
	if err != nil {
		return &exitError{code: exitPreflightFailed, err: err}
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- demotarget.New(demotarget.Options{Seed: 1}).Serve(ctx, ln) }()
	defer func() { stop(); <-served }()
	base := "http://" + ln.Addr().String()
	sc, err := scenarios.Parse("examples/demo.yaml", examples.Demo, scenarios.EnvLookup(map[string]string{"BASE_URL": base}))
	if err != nil {
		return fmt.Errorf("the embedded demo scenario is invalid: %w", err)
	}
	fmt.Fprintf(stderr, "loadgate demo: built-in target on %s; running examples/demo.yaml (%v)\n", base, sc.Plan.Load.Duration())
	err = f.runGate(f.gateConfig(sc, stdout, stderr), stderr)
	for _, o := range f.outputs {
		if o.Path != "-" {
			fmt.Fprintf(stderr, "loadgate demo: %s report written to %s\n", o.Format, o.Path)
		}
	}
	return err
}

// targetCmd serves the built-in target until SIGINT or SIGTERM; with
// --grpc-listen, its gRPC service (shop.Cart, internal/grpctarget) too.
func targetCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("target", "target [--listen ADDR] [--grpc-listen ADDR] [--seed N] [--fail-rate R] [--latency-scale X]", stdout, stderr)
	addr := fs.String("listen", demotarget.DefaultAddr, "address to serve on (loopback unless --allow-remote)")
	grpcAddr := fs.String("grpc-listen", "", "also serve the gRPC service shop.Cart (shop.proto, with reflection) on this address, such as "+grpctarget.DefaultAddr)
	grpcUnavailable := fs.Float64("grpc-unavailable-rate", 0, "share of gRPC calls answered UNAVAILABLE")
	remote := fs.Bool("allow-remote", false, "allow a non-loopback listen address")
	seed := fs.Int64("seed", 1, "seed of the latency and failure draws")
	failRate := fs.Float64("fail-rate", 0.01, "share of GET /flaky answered with 500")
	scale := fs.Float64("latency-scale", 1, "multiply every drawn delay (1.2: 20% slower), for regression experiments")
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("target takes no arguments")
	}
	if *scale <= 0 {
		return usagef("--latency-scale must be above 0")
	}
	if *grpcUnavailable < 0 || *grpcUnavailable > 1 {
		return usagef("--grpc-unavailable-rate must be from 0 to 1")
	}
	ln, err := demotarget.Listen(*addr, *remote)
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	var gs *grpctarget.Server
	var gln net.Listener
	if *grpcAddr != "" {
		if gln, err = grpctarget.Listen(*grpcAddr, *remote); err == nil {
			gs, err = grpctarget.New(grpctarget.Options{Seed: *seed, Unavailable: *grpcUnavailable})
		}
		if err != nil {
			ln.Close()
			if gln != nil {
				gln.Close()
			}
			return &exitError{code: exitInvalid, err: err}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fr := *failRate
	if fr == 0 {
		fr = -1 // the target's zero means its default; 0 here means never
	}
	fmt.Fprintf(stdout, "loadgate target: serving on http://%s (Ctrl-C to stop)\n", ln.Addr())
	grpcDone := make(chan error, 1)
	if gs != nil {
		fmt.Fprintf(stdout, "loadgate target: serving gRPC (shop.Cart, with reflection) on http://%s\n", gln.Addr())
		go func() { grpcDone <- gs.Serve(ctx, gln) }()
	} else {
		grpcDone <- nil
	}
	err = demotarget.New(demotarget.Options{Seed: *seed, FailRate: fr, LatencyScale: *scale}).Serve(ctx, ln)
	stop() // the gRPC server ends with the HTTP one
	if gerr := <-grpcDone; err == nil {
		err = gerr
	}
	return err
}
