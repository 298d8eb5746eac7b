package load

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"weft.local/samples/grpc/echopb"
)

// Method is the RPC a run calls. It is a flag.Value.
type Method string

const (
	Unary  Method = "unary"  // Echo: one request, one reply
	Stream Method = "stream" // EchoStream: one request, several replies
)

func (m *Method) String() string { return string(*m) }

// Set implements flag.Value.
func (m *Method) Set(text string) error {
	switch Method(text) {
	case Unary, Stream:
		*m = Method(text)
		return nil
	}
	return fmt.Errorf("method %q: unary or stream", text)
}

// Options of one run.
type Options struct {
	Method         Method
	Message        string
	StreamCount    uint32        // replies asked of each stream
	StreamInterval time.Duration // between a stream's replies
	Requests       int           // calls to make; 0: no limit
	Duration       time.Duration // time to start calls for; 0: until the context ends
	Rate           float64       // calls started per second; 0: as fast as Concurrency allows
	Concurrency    int           // calls in flight at most
	Timeout        time.Duration // deadline of each call
}

// Run calls client until opts.Requests calls were started, opts.Duration has
// passed or ctx ends; the calls in flight then finish (within their deadline).
// Open loop: call i is due i/Rate seconds after the start, whatever the
// latency of the others, as long as fewer than Concurrency are in flight.
func Run(ctx context.Context, client echopb.EchoClient, opts Options, recorder *Recorder) Summary {
	start := time.Now()
	pacing := ctx
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		pacing, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	calls := make(chan struct{})
	var workers sync.WaitGroup
	for range opts.Concurrency {
		workers.Go(func() {
			for range calls {
				recorder.Record(Call(client, opts))
			}
		})
	}
	for i := 0; opts.Requests == 0 || i < opts.Requests; i++ {
		if opts.Rate > 0 && !sleepUntil(pacing, Due(start, i, opts.Rate)) {
			break
		}
		if !handOver(pacing, calls) {
			break
		}
	}
	close(calls)
	workers.Wait()
	return recorder.Summary(time.Since(start))
}

// Due is when call i (from 0) starts at rate calls per second.
func Due(start time.Time, i int, rate float64) time.Time {
	return start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
}

// handOver gives a call to a free worker; false if ctx ended first.
func handOver(ctx context.Context, calls chan<- struct{}) bool {
	if ctx.Err() != nil {
		return false
	}
	select {
	case calls <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// sleepUntil waits until t; false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	wait := time.Until(t)
	if wait <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Call makes one call within opts.Timeout and says how it went.
func Call(client echopb.EchoClient, opts Options) Outcome {
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	started := time.Now()
	var outcome Outcome
	var trailer metadata.MD
	var err error
	if opts.Method == Stream {
		trailer, err = callStream(ctx, client, opts, &outcome)
	} else {
		var reply *echopb.EchoReply
		reply, err = client.Echo(ctx, &echopb.EchoRequest{Message: opts.Message}, grpc.Trailer(&trailer))
		if err == nil {
			outcome.Messages, outcome.Pod, outcome.Version = 1, reply.GetPod(), reply.GetVersion()
		}
	}
	outcome.Latency = time.Since(started)
	outcome.Code = status.Code(err)
	if err != nil {
		outcome.Error = status.Convert(err).Message()
	}
	if pods := trailer.Get(echopb.PodTrailer); outcome.Pod == "" && len(pods) > 0 {
		outcome.Pod = pods[0]
	}
	return outcome
}

// callStream reads a whole stream; its pod and version are those of the first
// reply (a stream stays on one replica).
func callStream(ctx context.Context, client echopb.EchoClient, opts Options, outcome *Outcome) (metadata.MD, error) {
	stream, err := client.EchoStream(ctx, &echopb.EchoStreamRequest{
		Message:    opts.Message,
		Count:      opts.StreamCount,
		IntervalMs: uint32(opts.StreamInterval / time.Millisecond),
	})
	if err != nil {
		return nil, err
	}
	for {
		reply, err := stream.Recv()
		if err == io.EOF {
			return stream.Trailer(), nil
		}
		if err != nil {
			return stream.Trailer(), err
		}
		if outcome.Messages == 0 {
			outcome.Pod, outcome.Version = reply.GetPod(), reply.GetVersion()
		}
		outcome.Messages++
	}
}
