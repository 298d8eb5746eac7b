package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"weft.local/samples/grpc/echopb"
	"weft.local/samples/grpc/internal/envflag"
	"weft.local/samples/grpc/internal/load"
)

// runLoad calls a server over one connection, then prints the summary as JSON.
func runLoad(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	flags := envflag.New("weft-grpc-sample load")
	opts := load.Options{Method: load.Unary}
	flags.Var(&opts.Method, "method", "unary (Echo) or stream (EchoStream)")
	flags.StringVar(&opts.Message, "message", "hello", "message sent in each call")
	streamCount := flags.Uint("stream-count", 10, "replies asked of each stream (--method stream)")
	flags.DurationVar(&opts.StreamInterval, "stream-interval", 0, "time between a stream's replies")
	flags.IntVar(&opts.Requests, "requests", 0, "stop after this many calls (0: no limit)")
	flags.DurationVar(&opts.Duration, "duration", 10*time.Second,
		"time to start calls for; 0: until SIGTERM or SIGINT (default 10s, none when --requests is set)")
	flags.Float64Var(&opts.Rate, "rate", 100, "calls started per second in all; 0: as fast as --concurrency allows")
	flags.IntVar(&opts.Concurrency, "concurrency", 10, "calls in flight at most")
	flags.DurationVar(&opts.Timeout, "timeout", 5*time.Second, "deadline of each call")
	authority := flags.String("authority", "", "HTTP/2 :authority of the calls (default: HOST:PORT)")
	for flagName, variable := range map[string]string{
		"method": "WEFT_GRPC_LOAD_METHOD", "message": "WEFT_GRPC_LOAD_MESSAGE",
		"stream-count": "WEFT_GRPC_LOAD_STREAM_COUNT", "stream-interval": "WEFT_GRPC_LOAD_STREAM_INTERVAL",
		"requests": "WEFT_GRPC_LOAD_REQUESTS", "duration": "WEFT_GRPC_LOAD_DURATION", "rate": "WEFT_GRPC_LOAD_RATE",
		"concurrency": "WEFT_GRPC_LOAD_CONCURRENCY", "timeout": "WEFT_GRPC_LOAD_TIMEOUT",
		"authority": "WEFT_GRPC_LOAD_AUTHORITY",
	} {
		flags.Env(flagName, variable)
	}
	if status, done := parseFlags(flags, args, getenv, stdout, stderr); done {
		return status
	}
	durationGiven := false
	flags.Visit(func(f *flag.Flag) { durationGiven = durationGiven || f.Name == "duration" })
	if !durationGiven && opts.Requests > 0 {
		opts.Duration = 0
	}
	opts.StreamCount = uint32(min(*streamCount, math.MaxUint32))
	if err := checkLoadOptions(flags.Args(), opts); err != nil {
		fmt.Fprintf(stderr, "weft-grpc-sample load: %v\n", err)
		return 2
	}
	target, err := load.DialTarget(flags.Arg(0), resolves, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "weft-grpc-sample load: %v\n", err)
		return 2
	}

	// One client connection: grpc-go's default pick_first balancer keeps one
	// HTTP/2 connection to the one address, as most gRPC clients do; spreading
	// the calls over replicas is the mesh's job.
	dialOptions := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if *authority != "" {
		dialOptions = append(dialOptions, grpc.WithAuthority(*authority))
	}
	conn, err := grpc.NewClient(target, dialOptions...)
	if err != nil {
		fmt.Fprintf(stderr, "weft-grpc-sample load: %v\n", err)
		return 1
	}
	defer conn.Close()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	summary := load.Run(ctx, echopb.NewEchoClient(conn), opts, load.NewRecorder(uint64(time.Now().UnixNano())))
	encoder := json.NewEncoder(stdout)
	encoder.SetIndent("", "  ")
	if err := encoder.Encode(summary); err != nil {
		fmt.Fprintf(stderr, "weft-grpc-sample load: %v\n", err)
		return 1
	}
	return 0
}

func checkLoadOptions(rest []string, opts load.Options) error {
	switch {
	case len(rest) != 1:
		return fmt.Errorf("want one HOST:PORT, got %d arguments", len(rest))
	case opts.Requests < 0, opts.Duration < 0, opts.Rate < 0, opts.StreamInterval < 0:
		return fmt.Errorf("--requests, --duration, --rate and --stream-interval must not be negative")
	case opts.Concurrency < 1:
		return fmt.Errorf("--concurrency %d: at least 1", opts.Concurrency)
	case opts.Timeout <= 0:
		return fmt.Errorf("--timeout %v: more than 0", opts.Timeout)
	}
	return nil
}

func resolves(host string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := net.DefaultResolver.LookupHost(ctx, host)
	return err == nil
}
