// weft-grpc-sample is Weft's gRPC sample: `serve` runs the weft.sample.v1.Echo
// service (proto/echo.proto) with injected latency and failures, and `load`
// calls it over one connection and prints what came back as JSON.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"weft.local/samples/grpc/internal/envflag"
)

const usage = `Usage: weft-grpc-sample serve [flags]
       weft-grpc-sample load [flags] HOST:PORT
       weft-grpc-sample serve --help | load --help

Weft's gRPC sample service and its load client (samples/README.md).
  serve  the weft.sample.v1.Echo service (unary Echo, server-streaming
         EchoStream), grpc.health.v1 and server reflection, with configurable
         latency and failure rate; replies name the pod that answered
  load   calls a server over one HTTP/2 connection, at a rate or as fast as the
         concurrency allows, then prints JSON: calls per status code, per pod
         and per version, latency percentiles
`

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run is the whole program but for the process: its exit status.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], getenv, stdout, stderr)
	case "load":
		return runLoad(args[1:], getenv, stdout, stderr)
	case "-h", "--help", "-help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "weft-grpc-sample: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// parseFlags parses a command's flags; done says the command must end now with
// status (0 after --help, 2 after a usage error).
func parseFlags(flags *envflag.Set, args []string, getenv func(string) string, stdout, stderr io.Writer) (status int, done bool) {
	flags.SetOutput(io.Discard) // errors and usage are printed below, on the right stream
	err := flags.Parse(args, getenv)
	if err == nil {
		return 0, false
	}
	out, status := stderr, 2
	if errors.Is(err, flag.ErrHelp) {
		out, status = stdout, 0
	} else {
		fmt.Fprintf(stderr, "%s: %v\n\n", flags.Name(), err)
	}
	fmt.Fprintf(out, "Usage of %s:\n", flags.Name())
	flags.SetOutput(out)
	flags.PrintDefaults()
	return status, true
}

// newLogger writes JSON lines on stderr, as the other sample programs do.
func newLogger(stderr io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("--log-level %q: debug, info, warn or error", level)
	}
	return slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: l})), nil
}
