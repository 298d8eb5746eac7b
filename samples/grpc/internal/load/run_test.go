package load

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"weft.local/samples/grpc/echopb"
)

func TestDue(t *testing.T) {
	start := time.Unix(100, 0)
	if got := Due(start, 0, 50); !got.Equal(start) {
		t.Errorf("call 0 due at %v, want the start", got)
	}
	if got := Due(start, 25, 50); !got.Equal(start.Add(500 * time.Millisecond)) {
		t.Errorf("call 25 at 50/s due %v after the start, want 500ms", got.Sub(start))
	}
}

func TestMethodFlag(t *testing.T) {
	var m Method
	if m.Set("stream") != nil || m != Stream || m.Set("bidi") == nil || m != Stream {
		t.Error("only unary and stream are methods, and a refused value leaves the flag as it was")
	}
}

// fakeEcho answers Echo in memory: UNAVAILABLE for every third call.
type fakeEcho struct {
	echopb.EchoClient
	calls    atomic.Int64
	inFlight atomic.Int64
	maxSeen  atomic.Int64
}

func (f *fakeEcho) Echo(ctx context.Context, _ *echopb.EchoRequest, _ ...grpc.CallOption) (*echopb.EchoReply, error) {
	n := f.calls.Add(1)
	now := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		seen := f.maxSeen.Load()
		if now <= seen || f.maxSeen.CompareAndSwap(seen, now) {
			break
		}
	}
	time.Sleep(time.Millisecond)
	if n%3 == 0 {
		return nil, status.Error(codes.Unavailable, "down")
	}
	return &echopb.EchoReply{Pod: "p", Version: "v1"}, nil
}

func TestARunMakesTheRequestedCallsWithinTheConcurrency(t *testing.T) {
	client := &fakeEcho{}
	opts := Options{Method: Unary, Requests: 300, Concurrency: 4, Timeout: time.Second}
	s := Run(context.Background(), client, opts, NewRecorder(1))
	if s.Requests != 300 || client.calls.Load() != 300 {
		t.Fatalf("summed %d calls, made %d, want 300", s.Requests, client.calls.Load())
	}
	if s.Codes["OK"] != 200 || s.Codes["UNAVAILABLE"] != 100 || s.Pods["p"] != 200 {
		t.Errorf("codes %v pods %v", s.Codes, s.Pods)
	}
	if got := client.maxSeen.Load(); got > 4 {
		t.Errorf("%d calls in flight at once, above --concurrency 4", got)
	}
}

func TestARunKeepsItsRate(t *testing.T) {
	client := &fakeEcho{}
	// 20 calls at 100/s: the last is due 190 ms after the start.
	opts := Options{Method: Unary, Requests: 20, Rate: 100, Concurrency: 4, Timeout: time.Second}
	started := time.Now()
	s := Run(context.Background(), client, opts, NewRecorder(1))
	if elapsed := time.Since(started); elapsed < 190*time.Millisecond {
		t.Errorf("20 calls at 100/s took %v, less than 190ms", elapsed)
	}
	if s.Requests != 20 {
		t.Errorf("%d calls, want 20", s.Requests)
	}
}

func TestARunStopsAfterItsDuration(t *testing.T) {
	client := &fakeEcho{}
	opts := Options{Method: Unary, Duration: 100 * time.Millisecond, Rate: 50, Concurrency: 2, Timeout: time.Second}
	started := time.Now()
	s := Run(context.Background(), client, opts, NewRecorder(1))
	// 100 ms at 50/s starts calls at 0, 20, ... 80 ms: 5 of them (6 if the timer is late).
	if s.Requests < 4 || s.Requests > 6 || time.Since(started) > 5*time.Second {
		t.Errorf("%d calls in %v, want about 5 within 100ms", s.Requests, time.Since(started))
	}
}

// slowEcho never answers before the caller's deadline.
type slowEcho struct{ echopb.EchoClient }

func (slowEcho) Echo(ctx context.Context, _ *echopb.EchoRequest, _ ...grpc.CallOption) (*echopb.EchoReply, error) {
	<-ctx.Done()
	return nil, status.FromContextError(ctx.Err()).Err()
}

func TestACallEndsAtItsDeadline(t *testing.T) {
	o := Call(slowEcho{}, Options{Method: Unary, Timeout: 20 * time.Millisecond})
	if o.Code != codes.DeadlineExceeded || o.Latency < 20*time.Millisecond || o.Latency > 5*time.Second {
		t.Errorf("outcome %+v, want DEADLINE_EXCEEDED after 20ms", o)
	}
}
