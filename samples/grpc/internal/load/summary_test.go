package load

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestNearestRank(t *testing.T) {
	sorted := []time.Duration{ms(1), ms(2), ms(3), ms(4), ms(5), ms(6), ms(7), ms(8), ms(9), ms(10)}
	for p, want := range map[float64]time.Duration{50: ms(5), 90: ms(9), 99: ms(10), 100: ms(10), 1: ms(1), 10: ms(1), 11: ms(2)} {
		if got := NearestRank(sorted, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if got := NearestRank(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %v, want 0", got)
	}
}

func TestTheSummaryCountsCodesPodsAndVersions(t *testing.T) {
	r := NewRecorder(1)
	r.Record(Outcome{Code: codes.OK, Pod: "a", Version: "v1", Messages: 1, Latency: ms(2)})
	r.Record(Outcome{Code: codes.OK, Pod: "b", Version: "v2", Messages: 1, Latency: ms(4)})
	r.Record(Outcome{Code: codes.OK, Pod: "a", Version: "v1", Messages: 1, Latency: ms(6)})
	r.Record(Outcome{Code: codes.Unavailable, Pod: "b", Latency: ms(1), Error: "connection refused"})
	r.Record(Outcome{Code: codes.DeadlineExceeded, Latency: ms(100)})
	s := r.Summary(2 * time.Second)
	if got := s.FirstFailures["UNAVAILABLE"]; got != (Failure{Message: "connection refused", LatencyMs: 1, Pod: "b"}) {
		t.Errorf("first UNAVAILABLE %+v", got)
	}
	if _, ok := s.FirstFailures["OK"]; ok || len(s.FirstFailures) != 2 {
		t.Errorf("first failures %+v: one per failed code", s.FirstFailures)
	}
	if s.Requests != 5 || s.OK != 3 || s.SuccessRate != 0.6 || s.Messages != 3 || s.Rate != 2.5 {
		t.Errorf("requests %d ok %d success %v messages %d rate %v", s.Requests, s.OK, s.SuccessRate, s.Messages, s.Rate)
	}
	wantCodes := map[string]int{"OK": 3, "UNAVAILABLE": 1, "DEADLINE_EXCEEDED": 1}
	if !equal(s.Codes, wantCodes) {
		t.Errorf("codes %v, want %v", s.Codes, wantCodes)
	}
	if !equal(s.Pods, map[string]int{"a": 2, "b": 1}) || !equal(s.FailuresByPod, map[string]int{"b": 1}) {
		t.Errorf("pods %v, failures by pod %v", s.Pods, s.FailuresByPod)
	}
	if !equal(s.Versions, map[string]int{"v1": 2, "v2": 1}) {
		t.Errorf("versions %v", s.Versions)
	}
	if s.LatencyMs.P50 != 4 || s.LatencyMs.P99 != 100 || s.LatencyMs.Max != 100 || s.LatencySampled {
		t.Errorf("latency %+v sampled %v", s.LatencyMs, s.LatencySampled)
	}
}

func TestASummaryIsACopy(t *testing.T) {
	r := NewRecorder(1)
	r.Record(Outcome{Code: codes.OK, Pod: "a"})
	s := r.Summary(time.Second)
	r.Record(Outcome{Code: codes.OK, Pod: "a"})
	if s.Pods["a"] != 1 || s.Codes["OK"] != 1 {
		t.Errorf("a later call changed an earlier summary: %v %v", s.Pods, s.Codes)
	}
}

func TestPastTheLimitTheLatenciesAreASample(t *testing.T) {
	r := NewRecorder(7)
	// Half the calls at 1ms then half at 3ms: a uniform sample keeps about half
	// of each, so the median is either, and the maximum is exact.
	for i := range 2 * MaxLatencySamples {
		latency := ms(1)
		if i >= MaxLatencySamples {
			latency = ms(3)
		}
		r.Record(Outcome{Code: codes.OK, Latency: latency})
	}
	r.Record(Outcome{Code: codes.OK, Latency: ms(50)})
	s := r.Summary(time.Second)
	if !s.LatencySampled || len(r.latencies) != MaxLatencySamples {
		t.Fatalf("sampled %v with %d latencies kept", s.LatencySampled, len(r.latencies))
	}
	threes := 0
	for _, l := range r.latencies {
		if l == ms(3) {
			threes++
		}
	}
	// A fair sample holds 50 % ± well under 1 % of each (binomial, 200,000 draws).
	if share := float64(threes) / MaxLatencySamples; share < 0.48 || share > 0.52 {
		t.Errorf("the sample holds %.3f of the later latencies, want about 0.5", share)
	}
	if s.LatencyMs.Max != 50 {
		t.Errorf("max %v, want 50", s.LatencyMs.Max)
	}
}

func TestCodeNames(t *testing.T) {
	for code, want := range map[codes.Code]string{
		codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unavailable: "UNAVAILABLE",
		codes.DeadlineExceeded: "DEADLINE_EXCEEDED", codes.Unauthenticated: "UNAUTHENTICATED", codes.Code(42): "CODE_42",
	} {
		if got := CodeName(code); got != want {
			t.Errorf("CodeName(%d) = %q, want %q", code, got, want)
		}
	}
}

func equal(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
