// Package fault holds what the sample server injects into its answers: added
// latency and a failure rate. Parsing and drawing are pure: the caller passes
// the uniform random number, so tests choose it.
package fault

import (
	"fmt"
	"strings"
	"time"
)

// Latency is a fixed duration ("5ms") or a uniform distribution around it
// ("5ms±2ms", or "5ms+-2ms" where ± is awkward to type), the syntax of
// weft-sample-app's --latency. It is a flag.Value.
type Latency struct {
	Base   time.Duration
	Spread time.Duration // at most Base, so a sample is never negative
}

// ParseLatency reads "5ms", "1.5s", "5ms±2ms" or "5ms+-2ms"; "0s" for none.
func ParseLatency(text string) (Latency, error) {
	baseText, spreadText, hasSpread := strings.Cut(text, "±")
	if !hasSpread {
		baseText, spreadText, hasSpread = strings.Cut(text, "+-")
	}
	base, err := parseNonNegative(baseText)
	if err != nil {
		return Latency{}, fmt.Errorf("latency %q: %w", text, err)
	}
	latency := Latency{Base: base}
	if !hasSpread {
		return latency, nil
	}
	if spreadText == "" {
		return Latency{}, fmt.Errorf("latency %q: missing the spread after ±", text)
	}
	if latency.Spread, err = parseNonNegative(spreadText); err != nil {
		return Latency{}, fmt.Errorf("latency %q: %w", text, err)
	}
	if latency.Spread > latency.Base {
		return Latency{}, fmt.Errorf("latency %q: the spread must not exceed the base", text)
	}
	return latency, nil
}

func parseNonNegative(text string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(text))
	if err != nil {
		return 0, fmt.Errorf("not a duration (e.g. 5ms, 1.5s): %q", text)
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %q", text)
	}
	return d, nil
}

// Sample maps uniform, a number in [0, 1), onto [Base-Spread, Base+Spread].
func (l Latency) Sample(uniform float64) time.Duration {
	return l.Base + time.Duration((2*uniform-1)*float64(l.Spread))
}

func (l Latency) String() string {
	if l.Spread == 0 {
		return l.Base.String()
	}
	return l.Base.String() + "±" + l.Spread.String()
}

// Set implements flag.Value.
func (l *Latency) Set(text string) error {
	parsed, err := ParseLatency(text)
	if err != nil {
		return err
	}
	*l = parsed
	return nil
}
