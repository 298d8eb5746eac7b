package fault

import (
	"testing"
	"time"
)

func TestParseLatency(t *testing.T) {
	valid := map[string]Latency{
		"0s":          {},
		"5ms":         {Base: 5 * time.Millisecond},
		"1.5s":        {Base: 1500 * time.Millisecond},
		"5ms±2ms":     {Base: 5 * time.Millisecond, Spread: 2 * time.Millisecond},
		"5ms+-5ms":    {Base: 5 * time.Millisecond, Spread: 5 * time.Millisecond},
		" 10ms ± 1ms": {Base: 10 * time.Millisecond, Spread: time.Millisecond},
	}
	for text, want := range valid {
		got, err := ParseLatency(text)
		if err != nil || got != want {
			t.Errorf("ParseLatency(%q) = %v, %v; want %v", text, got, err, want)
		}
	}
	for _, text := range []string{"", "5", "-1ms", "5ms±", "2ms±5ms", "5ms±-1ms", "fast"} {
		if got, err := ParseLatency(text); err == nil {
			t.Errorf("ParseLatency(%q) = %v, want an error", text, got)
		}
	}
}

func TestLatencySampleStaysWithinTheSpread(t *testing.T) {
	l := Latency{Base: 10 * time.Millisecond, Spread: 4 * time.Millisecond}
	if got := l.Sample(0); got != 6*time.Millisecond {
		t.Errorf("Sample(0) = %v, want 6ms", got)
	}
	if got := l.Sample(0.5); got != 10*time.Millisecond {
		t.Errorf("Sample(0.5) = %v, want 10ms", got)
	}
	if got := l.Sample(0.999999); got >= 14*time.Millisecond || got < 13*time.Millisecond {
		t.Errorf("Sample(0.999999) = %v, want just under 14ms", got)
	}
	fixed := Latency{Base: 3 * time.Millisecond}
	if got := fixed.Sample(0.123); got != 3*time.Millisecond {
		t.Errorf("a fixed latency sampled %v, want 3ms", got)
	}
}

func TestLatencyStringRoundTrips(t *testing.T) {
	for _, text := range []string{"0s", "5ms", "5ms±2ms"} {
		l, err := ParseLatency(text)
		if err != nil || l.String() != text {
			t.Errorf("ParseLatency(%q).String() = %q, %v", text, l.String(), err)
		}
	}
}

func TestFailureRate(t *testing.T) {
	for _, text := range []string{"-0.1", "1.01", "half", ""} {
		if _, err := ParseFailureRate(text); err == nil {
			t.Errorf("ParseFailureRate(%q) accepted", text)
		}
	}
	rate, err := ParseFailureRate("0.25")
	if err != nil {
		t.Fatal(err)
	}
	if !rate.Fails(0.2499) || rate.Fails(0.25) || rate.Fails(0.9) {
		t.Error("0.25 must fail exactly the draws below 0.25")
	}
	never, _ := ParseFailureRate("0")
	always, _ := ParseFailureRate("1")
	if never.Fails(0) || !always.Fails(0.999999) {
		t.Error("0 never fails, 1 always does")
	}
}
