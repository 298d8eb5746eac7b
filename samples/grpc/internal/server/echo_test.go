package server

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"weft.local/samples/grpc/echopb"
	"weft.local/samples/grpc/internal/fault"
)

// connect serves echo over an in-memory listener and returns a client of it.
func connect(t *testing.T, echo *Echo) echopb.EchoClient {
	t.Helper()
	listener := bufconn.Listen(1 << 20)
	s := grpc.NewServer()
	echopb.RegisterEchoServer(s, echo)
	go func() { _ = s.Serve(listener) }() // ends with Stop below
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return listener.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return echopb.NewEchoClient(conn)
}

var identity = Identity{Name: "echo", Version: "v2", Pod: "echo-7d9f"}

// withDraws makes the echo's random draws return draws in turn.
func withDraws(e *Echo, draws ...float64) *Echo {
	e.uniform = func() float64 {
		d := draws[0]
		draws = append(draws[1:], d)
		return d
	}
	return e
}

func TestEchoNamesTheReplicaInTheReplyAndTheTrailer(t *testing.T) {
	client := connect(t, NewEcho(identity, Faults{}, 10))
	var trailer metadata.MD
	reply, err := client.Echo(context.Background(), &echopb.EchoRequest{Message: "hi"}, grpc.Trailer(&trailer))
	if err != nil {
		t.Fatal(err)
	}
	if reply.GetMessage() != "hi" || reply.GetName() != "echo" || reply.GetVersion() != "v2" ||
		reply.GetPod() != "echo-7d9f" || reply.GetSequence() != 0 {
		t.Errorf("reply %v", reply)
	}
	if got := trailer.Get(echopb.PodTrailer); len(got) != 1 || got[0] != "echo-7d9f" {
		t.Errorf("trailer %v, want weft-pod: echo-7d9f", trailer)
	}
}

func TestAnInjectedFailureIsUnavailableAndStillNamesThePod(t *testing.T) {
	// Draws: latency, then failure. 0.3 < 0.5 fails, 0.7 does not.
	client := connect(t, withDraws(NewEcho(identity, Faults{FailureRate: 0.5}, 10), 0, 0.3, 0, 0.7))
	var trailer metadata.MD
	_, err := client.Echo(context.Background(), &echopb.EchoRequest{}, grpc.Trailer(&trailer))
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("got %v, want UNAVAILABLE", err)
	}
	if got := trailer.Get(echopb.PodTrailer); len(got) != 1 || got[0] != "echo-7d9f" {
		t.Errorf("a failed call's trailer %v, want weft-pod: echo-7d9f", trailer)
	}
	if _, err := client.Echo(context.Background(), &echopb.EchoRequest{}); err != nil {
		t.Errorf("the second call failed: %v", err)
	}
}

func TestTheLatencyIsWaitedOutOrCutByTheDeadline(t *testing.T) {
	faults := Faults{Latency: fault.Latency{Base: 50 * time.Millisecond}}
	client := connect(t, NewEcho(identity, faults, 10))
	started := time.Now()
	if _, err := client.Echo(context.Background(), &echopb.EchoRequest{}); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(started); elapsed < 50*time.Millisecond {
		t.Errorf("answered after %v, before the 50ms latency", elapsed)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := client.Echo(ctx, &echopb.EchoRequest{}); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("a 10ms deadline on a 50ms latency gave %v, want DEADLINE_EXCEEDED", err)
	}
}

func TestAStreamSendsCountRepliesInOrder(t *testing.T) {
	client := connect(t, NewEcho(identity, Faults{}, 10))
	stream, err := client.EchoStream(context.Background(), &echopb.EchoStreamRequest{Message: "m", Count: 4, IntervalMs: 5})
	if err != nil {
		t.Fatal(err)
	}
	var sequences []uint32
	for {
		reply, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if reply.GetPod() != "echo-7d9f" || reply.GetMessage() != "m" {
			t.Errorf("reply %v", reply)
		}
		sequences = append(sequences, reply.GetSequence())
	}
	if len(sequences) != 4 || sequences[0] != 0 || sequences[3] != 3 {
		t.Errorf("sequences %v, want 0 1 2 3", sequences)
	}
	if got := stream.Trailer().Get(echopb.PodTrailer); len(got) != 1 {
		t.Errorf("the stream's trailer %v has no weft-pod", stream.Trailer())
	}
}

func TestAStreamAskingTooMuchIsRefused(t *testing.T) {
	client := connect(t, NewEcho(identity, Faults{}, 10))
	stream, err := client.EchoStream(context.Background(), &echopb.EchoStreamRequest{Count: 11})
	if err == nil {
		_, err = stream.Recv()
	}
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("count 11 above the limit 10 gave %v, want INVALID_ARGUMENT", err)
	}
}

func TestAStreamOfZeroSendsOneReply(t *testing.T) {
	client := connect(t, NewEcho(identity, Faults{}, 10))
	stream, err := client.EchoStream(context.Background(), &echopb.EchoStreamRequest{})
	if err != nil {
		t.Fatal(err)
	}
	replies := 0
	for ; ; replies++ {
		if _, err := stream.Recv(); err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
	}
	if replies != 1 {
		t.Errorf("%d replies, want 1", replies)
	}
}
