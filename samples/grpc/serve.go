package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"weft.local/samples/grpc/echopb"
	"weft.local/samples/grpc/internal/envflag"
	"weft.local/samples/grpc/internal/server"
)

// serve runs the Echo service until SIGTERM or SIGINT, then drains.
func serve(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	flags := envflag.New("weft-grpc-sample serve")
	name := flags.String("name", "grpc-echo", "service name shown in replies")
	version := flags.String("version", "v1", "version shown in replies (e.g. v2)")
	pod := flags.String("pod-name", "", "pod name shown in replies and the weft-pod trailer (default: the host name)")
	address := flags.String("address", "0.0.0.0", "listening address")
	port := flags.Uint("port", 8080, "listening port (0: any free port, printed in the \"listening\" log)")
	var faults server.Faults
	flags.Var(&faults.Latency, "latency", "added latency per call: 5ms, or uniform 5ms±2ms (also 5ms+-2ms)")
	flags.Var(&faults.FailureRate, "failure-rate", "fraction of calls answered UNAVAILABLE, 0 to 1")
	maxStreamReplies := flags.Uint("max-stream-replies", 10000,
		"most replies one EchoStream call may ask for; more is INVALID_ARGUMENT")
	grace := flags.Duration("shutdown-grace", 10*time.Second, "on SIGTERM, time left to calls in flight")
	logLevel := flags.String("log-level", "info", "debug (one line per call), info, warn, error")
	for flagName, variable := range map[string]string{
		"name": "WEFT_GRPC_SAMPLE_NAME", "version": "WEFT_GRPC_SAMPLE_VERSION", "pod-name": "POD_NAME",
		"address": "WEFT_GRPC_SAMPLE_ADDRESS", "port": "WEFT_GRPC_SAMPLE_PORT",
		"latency": "WEFT_GRPC_SAMPLE_LATENCY", "failure-rate": "WEFT_GRPC_SAMPLE_FAILURE_RATE",
		"max-stream-replies": "WEFT_GRPC_SAMPLE_MAX_STREAM_REPLIES",
		"shutdown-grace":     "WEFT_GRPC_SAMPLE_SHUTDOWN_GRACE", "log-level": "WEFT_GRPC_SAMPLE_LOG_LEVEL",
	} {
		flags.Env(flagName, variable)
	}
	if status, done := parseFlags(flags, args, getenv, stdout, stderr); done {
		return status
	}
	log, err := newLogger(stderr, *logLevel)
	if err == nil {
		err = checkServeFlags(flags.Args(), *port, *maxStreamReplies)
	}
	if err != nil {
		fmt.Fprintf(stderr, "weft-grpc-sample serve: %v\n", err)
		return 2
	}
	if *pod == "" {
		*pod, _ = os.Hostname()
	}

	listener, err := net.Listen("tcp", net.JoinHostPort(*address, strconv.FormatUint(uint64(*port), 10)))
	if err != nil {
		log.Error("cannot listen", "error", err.Error())
		return 1
	}
	identity := server.Identity{Name: *name, Version: *version, Pod: *pod}
	grpcServer := grpc.NewServer(grpc.ChainUnaryInterceptor(logUnary(log)), grpc.ChainStreamInterceptor(logStream(log)))
	echopb.RegisterEchoServer(grpcServer, server.NewEcho(identity, faults, uint32(*maxStreamReplies)))
	healthServer := health.NewServer() // "" and every service: SERVING until the drain
	healthpb.RegisterHealthServer(grpcServer, healthServer)
	reflection.Register(grpcServer) // lets ghz and grpcurl call it without the .proto

	served := make(chan error, 1)
	go func() { served <- grpcServer.Serve(listener) }()
	log.Info("listening", "address", *address, "port", listener.Addr().(*net.TCPAddr).Port,
		"name", *name, "version", *version, "pod", *pod, "latency", faults.Latency.String(),
		"failure_rate", float64(faults.FailureRate))

	signals, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	select {
	case err := <-served:
		log.Error("serving failed", "error", err.Error())
		return 1
	case <-signals.Done():
	}
	// Health says NOT_SERVING first, so that health-checking clients move away,
	// then the calls in flight get the grace period.
	log.Info("draining", "grace", grace.String())
	healthServer.Shutdown()
	drained := make(chan struct{})
	go func() { grpcServer.GracefulStop(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(*grace):
		log.Warn("grace period over: closing the calls still in flight")
		grpcServer.Stop()
	}
	log.Info("stopped")
	return 0
}

func checkServeFlags(rest []string, port, maxStreamReplies uint) error {
	switch {
	case len(rest) > 0:
		return fmt.Errorf("unexpected argument %q", rest[0])
	case port > math.MaxUint16:
		return fmt.Errorf("--port %d: at most %d", port, math.MaxUint16)
	case maxStreamReplies == 0 || maxStreamReplies > math.MaxUint32:
		return fmt.Errorf("--max-stream-replies %d: from 1 to %d", maxStreamReplies, uint32(math.MaxUint32))
	}
	return nil
}

func logUnary(log interface{ Debug(string, ...any) }) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, request any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		started := time.Now()
		reply, err := handler(ctx, request)
		log.Debug("call", "method", info.FullMethod, "error", errorText(err), "latency_ms", msSince(started))
		return reply, err
	}
}

func logStream(log interface{ Debug(string, ...any) }) grpc.StreamServerInterceptor {
	return func(srv any, stream grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		started := time.Now()
		err := handler(srv, stream)
		log.Debug("call", "method", info.FullMethod, "error", errorText(err), "latency_ms", msSince(started))
		return err
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }
