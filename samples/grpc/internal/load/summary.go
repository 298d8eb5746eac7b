// Package load calls the Echo service over one connection and sums up what
// came back: counts per status code, per replica and per version, and latency
// percentiles.
package load

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
)

// MaxLatencySamples bounds the latencies kept for the percentiles: past it, a
// uniform random sample of that size (reservoir sampling), as in weft-load.
const MaxLatencySamples = 200_000

// Outcome is one finished call.
type Outcome struct {
	Code     codes.Code
	Pod      string // from the reply, or the weft-pod trailer of a failed call; "" if unknown
	Version  string // from the reply; "" for a failed call
	Messages int    // replies received
	Latency  time.Duration
	Error    string // the status message of a failed call
}

// Summary is what `weft-grpc-sample load` prints, as JSON.
type Summary struct {
	Requests        int            `json:"requests"`
	DurationSeconds float64        `json:"duration_s"`
	Rate            float64        `json:"rate"` // calls finished per second
	OK              int            `json:"ok"`
	SuccessRate     float64        `json:"success_rate"`
	Codes           map[string]int `json:"codes"`           // by canonical code name: OK, UNAVAILABLE...
	Pods            map[string]int `json:"pods"`            // successful calls per answering pod
	FailuresByPod   map[string]int `json:"failures_by_pod"` // failed calls per pod that answered them
	Versions        map[string]int `json:"versions"`        // successful calls per answering version
	Messages        int            `json:"messages"`        // replies received, along streams too
	LatencyMs       Percentiles    `json:"latency_ms"`
	LatencySampled  bool           `json:"latency_sampled"` // percentiles over a sample of MaxLatencySamples
	// The first failed call of each code, so that a failure says why.
	FirstFailures map[string]Failure `json:"first_failures"`
}

// Failure is a failed call as the client saw it.
type Failure struct {
	Message   string  `json:"message"`
	LatencyMs float64 `json:"latency_ms"`
	Pod       string  `json:"pod,omitempty"`
}

// Percentiles are nearest-rank percentiles, in milliseconds.
type Percentiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Recorder collects outcomes from many goroutines.
type Recorder struct {
	mu        sync.Mutex
	summary   Summary
	latencies []time.Duration
	seen      int // latencies offered to the reservoir
	maximum   time.Duration
	random    *rand.Rand
}

// NewRecorder starts an empty summary; seed makes the latency sample repeatable.
func NewRecorder(seed uint64) *Recorder {
	return &Recorder{
		summary: Summary{Codes: map[string]int{}, Pods: map[string]int{}, FailuresByPod: map[string]int{},
			Versions: map[string]int{}, FirstFailures: map[string]Failure{}},
		random: rand.New(rand.NewPCG(seed, seed)),
	}
}

// Record adds one finished call.
func (r *Recorder) Record(o Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &r.summary
	s.Requests++
	s.Codes[CodeName(o.Code)]++
	s.Messages += o.Messages
	if o.Code == codes.OK {
		s.OK++
		s.Pods[o.Pod]++
		s.Versions[o.Version]++
	} else {
		if o.Pod != "" {
			s.FailuresByPod[o.Pod]++
		}
		if _, seen := s.FirstFailures[CodeName(o.Code)]; !seen {
			s.FirstFailures[CodeName(o.Code)] = Failure{Message: o.Error, LatencyMs: milliseconds(o.Latency), Pod: o.Pod}
		}
	}
	r.maximum = max(r.maximum, o.Latency)
	r.seen++
	if len(r.latencies) < MaxLatencySamples {
		r.latencies = append(r.latencies, o.Latency)
	} else if at := r.random.IntN(r.seen); at < MaxLatencySamples {
		r.latencies[at] = o.Latency
	}
}

// Summary is the summary so far, over elapsed.
func (r *Recorder) Summary(elapsed time.Duration) Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.summary
	s.Codes, s.Pods, s.FailuresByPod, s.Versions, s.FirstFailures = maps.Clone(s.Codes), maps.Clone(s.Pods),
		maps.Clone(s.FailuresByPod), maps.Clone(s.Versions), maps.Clone(s.FirstFailures)
	s.DurationSeconds = elapsed.Seconds()
	if elapsed > 0 {
		s.Rate = float64(s.Requests) / elapsed.Seconds()
	}
	if s.Requests > 0 {
		s.SuccessRate = float64(s.OK) / float64(s.Requests)
	}
	sorted := slices.Clone(r.latencies)
	slices.Sort(sorted)
	s.LatencyMs = Percentiles{
		P50: milliseconds(NearestRank(sorted, 50)),
		P90: milliseconds(NearestRank(sorted, 90)),
		P99: milliseconds(NearestRank(sorted, 99)),
		Max: milliseconds(r.maximum),
	}
	s.LatencySampled = r.seen > len(r.latencies)
	return s
}

// NearestRank is the p-th percentile (0 < p <= 100) of sorted: the smallest
// value with at least p % of the values at or below it; 0 when empty.
func NearestRank(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func milliseconds(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

// codeNames are the canonical names of the gRPC status codes (the spec's
// statuscodes.md, as grpc-status and other gRPC tools spell them); Go's
// codes.Code.String() spells them in camel case.
var codeNames = [...]string{
	codes.OK:                 "OK",
	codes.Canceled:           "CANCELLED",
	codes.Unknown:            "UNKNOWN",
	codes.InvalidArgument:    "INVALID_ARGUMENT",
	codes.DeadlineExceeded:   "DEADLINE_EXCEEDED",
	codes.NotFound:           "NOT_FOUND",
	codes.AlreadyExists:      "ALREADY_EXISTS",
	codes.PermissionDenied:   "PERMISSION_DENIED",
	codes.ResourceExhausted:  "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION",
	codes.Aborted:            "ABORTED",
	codes.OutOfRange:         "OUT_OF_RANGE",
	codes.Unimplemented:      "UNIMPLEMENTED",
	codes.Internal:           "INTERNAL",
	codes.Unavailable:        "UNAVAILABLE",
	codes.DataLoss:           "DATA_LOSS",
	codes.Unauthenticated:    "UNAUTHENTICATED",
}

// CodeName is code's canonical name, or CODE_<n> for a code outside the spec.
func CodeName(code codes.Code) string {
	if int(code) < len(codeNames) {
		return codeNames[code]
	}
	return "CODE_" + strconv.FormatUint(uint64(code), 10)
}
