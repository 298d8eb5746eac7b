// Package server implements the sample's Echo service: every answer names the
// replica that gave it, after the injected latency, or fails with the injected
// failure rate.
package server

import (
	"context"
	"math/rand/v2"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"weft.local/samples/grpc/echopb"
	"weft.local/samples/grpc/internal/fault"
)

// Identity is what every reply says about the server.
type Identity struct {
	Name    string
	Version string
	Pod     string
}

// Faults are what the server injects before it answers.
type Faults struct {
	Latency     fault.Latency
	FailureRate fault.FailureRate
}

// Echo is the weft.sample.v1.Echo service.
type Echo struct {
	echopb.UnimplementedEchoServer
	identity         Identity
	faults           Faults
	maxStreamReplies uint32
	uniform          func() float64 // a number in [0, 1): the one random source
}

// NewEcho answers as identity with faults; a stream may ask for at most
// maxStreamReplies replies.
func NewEcho(identity Identity, faults Faults, maxStreamReplies uint32) *Echo {
	return &Echo{identity: identity, faults: faults, maxStreamReplies: maxStreamReplies, uniform: rand.Float64}
}

// Echo answers one reply with the request's message.
func (e *Echo) Echo(ctx context.Context, request *echopb.EchoRequest) (*echopb.EchoReply, error) {
	_ = grpc.SetTrailer(ctx, metadata.Pairs(echopb.PodTrailer, e.identity.Pod)) // fails only outside a handler
	if err := e.inject(ctx); err != nil {
		return nil, err
	}
	return e.reply(request.GetMessage(), 0), nil
}

// EchoStream answers count replies (at least one), interval_ms apart. The
// latency and the failure apply once, before the first reply.
func (e *Echo) EchoStream(request *echopb.EchoStreamRequest, stream grpc.ServerStreamingServer[echopb.EchoReply]) error {
	stream.SetTrailer(metadata.Pairs(echopb.PodTrailer, e.identity.Pod))
	count := max(request.GetCount(), 1)
	if count > e.maxStreamReplies {
		return status.Errorf(codes.InvalidArgument, "count %d is above this server's --max-stream-replies %d",
			count, e.maxStreamReplies)
	}
	ctx := stream.Context()
	if err := e.inject(ctx); err != nil {
		return err
	}
	interval := time.Duration(request.GetIntervalMs()) * time.Millisecond
	for sequence := range count {
		if sequence > 0 {
			if err := sleep(ctx, interval); err != nil {
				return err
			}
		}
		if err := stream.Send(e.reply(request.GetMessage(), sequence)); err != nil {
			return err
		}
	}
	return nil
}

// inject waits out the latency, then fails the call at the failure rate.
func (e *Echo) inject(ctx context.Context) error {
	if err := sleep(ctx, e.faults.Latency.Sample(e.uniform())); err != nil {
		return err
	}
	if e.faults.FailureRate.Fails(e.uniform()) {
		return status.Error(codes.Unavailable, "injected failure (--failure-rate)")
	}
	return nil
}

func (e *Echo) reply(message string, sequence uint32) *echopb.EchoReply {
	return &echopb.EchoReply{
		Message:  message,
		Name:     e.identity.Name,
		Version:  e.identity.Version,
		Pod:      e.identity.Pod,
		Sequence: sequence,
	}
}

// sleep waits for d, or ends early with the call's status when the client
// cancels or its deadline passes.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
}
